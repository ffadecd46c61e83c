# syntax=docker/dockerfile:1
# TrialMark web / CPU-worker / beat image (CPU-only torch). The GPU worker uses Dockerfile.cuda.
#   docker build -t trialmark .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=webapp.settings.production \
    TRIALMARK_VAR_DIR=/app/var \
    TRIALMARK_MODEL_ROOT=/data/models \
    MEDIA_ROOT=/data/media \
    HF_HOME=/home/app/.cache/huggingface

# Unprivileged user. Fixed uid/gid so files in the named volumes keep one owner across images.
RUN groupadd --system --gid 1000 app \
 && useradd --system --uid 1000 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first so code changes do not reinstall them. requirements.txt pins torch==2.13.0.
# With the PyTorch CPU index as an extra index, pip takes 2.13.0+cpu, a later version under PEP 440
# than PyPI's CUDA build, so the multi-GB CUDA wheels stay out of the image.
COPY requirements.txt ./
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt \
 && python -c "import torch; assert not torch.version.cuda, torch.__version__"

# Code stays owned by root: the app user can read it but not change it.
COPY . .

# Folders that collectstatic and the named volumes write to. A named volume takes the owner of the
# image folder it is mounted on the first time, so the app user can write to it.
RUN mkdir -p /app/var /data/media /data/models /home/app/.cache \
 && chown -R app:app /app/var /data /home/app/.cache

USER app

EXPOSE 8000

# docker-compose.yml sets the command for each service. Run as is, the image serves the web app.
CMD ["gunicorn", "webapp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
