"""A short summary of a browser's User-Agent for Customer Info ("Firefox on Linux"): enough
for an agent to picture the visitor's screen, without keeping the fingerprint-like full string."""

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
BROWSERS = [
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
]
SYSTEMS = [
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
]


def user_agent_summary(header):
    browser = next((name for marker, name in BROWSERS if marker in header), "")
    system = next((name for marker, name in SYSTEMS if marker in header), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system
