"""The built site, served over HTTP and checked in Debian's chromium through Playwright."""
