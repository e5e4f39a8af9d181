"""The home page an owner shapes: sections the shop's theme declares (an image banner,
featured products or a featured category, rich text, an image with text, a newsletter
sign-up), added, ordered, edited and hidden in the dashboard, per language.

The owner's choices are data (``home_sections`` rows, validated by ``schemas`` on the
way in and again on the way out: a row from an archive is as hostile as a form), rendered
by the theme's templates through the same sandbox rules as every page, and kept in the
page cache like the rest of the home page (every edit replaces the shop's content token).
"""
