"""HTTP routes: the page, the JSON API, uploaded models and comparisons."""
