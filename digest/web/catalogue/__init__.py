"""The web's words per area (admin issues, articles, subscribers, problems), added to web.i18n.CATALOGUE."""
