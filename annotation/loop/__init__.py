"""The learning loop's logic that is not an ORM write: queue strategies (``queue``), inter-annotator
agreement (``agreement``), model monitoring (``monitoring``) and the dashboard's figures (``dashboard``).
Writes stay in ``annotation.services``; these modules compute."""
