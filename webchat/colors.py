"""The bubble's colours: the admin picks the background, the text colour follows from it.

Of white and black, the one with the higher WCAG contrast against the background is taken;
one of the two always reaches at least 4.58:1, so every colour an admin picks passes WCAG AA
(4.5:1) for the bubble's text without asking them to know the rule.
"""

import re

from django.core.exceptions import ValidationError

HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
LIGHT_TEXT = "#FFFFFF"
DARK_TEXT = "#000000"
AA_NORMAL_TEXT = 4.5


def validate_color(value):
    if not isinstance(value, str) or not HEX_COLOR.match(value):
        raise ValidationError("Enter a colour as #RRGGBB, for example #1F5FBF.")


def normalise_color(value):
    return value.upper()


def _relative_luminance(color):
    def channel(hex_pair):
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first, second):
    lighter, darker = sorted(
        (_relative_luminance(first), _relative_luminance(second)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def text_color_for(background):
    """The text colour for the bubble: whichever of white and black contrasts more."""
    light = contrast_ratio(background, LIGHT_TEXT)
    dark = contrast_ratio(background, DARK_TEXT)
    return LIGHT_TEXT if light >= dark else DARK_TEXT
