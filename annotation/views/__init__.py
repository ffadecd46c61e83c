"""Server-rendered pages, one module per part of the product: ``projects`` (list, overview, documents,
imports), ``editor`` (the annotation page), ``review`` (adjudication), ``settings`` (admins, guideline,
training), ``export`` and ``dashboard``; ``common`` resolves the project and the user's role for all.
The REST API lives in ``annotation.api``."""
