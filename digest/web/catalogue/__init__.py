"""The web's words per area (admin issues, articles, subscribers, problems), added to web.i18n.CATALOGUE.
Imports digest.web.i18n, the core's statuses and the skip reasons' codes; only digest.web imports it."""
