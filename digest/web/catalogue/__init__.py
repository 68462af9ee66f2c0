"""The web's words per area (admin issues, articles, subscribers, problems), added to web.i18n.CATALOGUE.
Imports only digest.web.i18n and the core's statuses; only digest.web imports it."""
