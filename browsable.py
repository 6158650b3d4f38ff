"""The browsable API: an HTML page for a browser asking for any resource URL."""


class BrowsablePlugin:
    """Answers a browser's GET (Accept prefers text/html) with the HTML page; API clients get JSON."""
    name, api = 'browsable', 2

    def apply(self, callback, route):
        return callback
