"""Found by search engines: sitemaps, robots.txt, canonical links, structured data, redirects."""
