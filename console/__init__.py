"""The web console: views, templates in Simplified Chinese, auth and permissions (the console issue)."""
