"""Drivers for the engines other than Chromium (Firefox through WebDriver BiDi, WebKitGTK
through classic W3C WebDriver), written on the project's own aiohttp and websockets: no
selenium (its manager would download geckodriver, which Debian does not ship)."""
