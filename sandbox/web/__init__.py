"""The customer simulator page: its HTML, script and stylesheet, and the feed it polls."""
