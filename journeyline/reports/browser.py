"""Headless Chromium for report screenshots (Debian's `chromium`; no download, no driver).

``screenshot`` renders a local HTML file to a PNG with the browser's own
``--screenshot`` switch: a tall window, then the empty background below the
page is cropped away (with Pillow when it is installed). No Chromium on the
machine is not an error: ``find_chromium`` returns None and callers say how to
get one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
)
INSTALL_HINT = (
    "install Chromium to get screenshots: apt-get install -y chromium chromium-driver "
    "(or set JOURNEYLINE_CHROMIUM to a Chrome/Chromium binary)"
)
WIDTH = 1280
MAX_HEIGHT = 12000
TIMEOUT_S = 90


class BrowserError(Exception):
    """Chromium ran but gave no screenshot; the message says what it printed."""


def find_chromium() -> str | None:
    """The browser binary: $JOURNEYLINE_CHROMIUM, else the first of CANDIDATES on PATH."""
    configured = os.environ.get("JOURNEYLINE_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return next((p for p in (shutil.which(c) for c in CANDIDATES) if p), None)


def screenshot(html: Path, png: Path, *, browser: str, width: int = WIDTH) -> Path:
    """Render ``html`` (a local file) into ``png``, cropped to the page's content."""
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="journeyline-chromium-") as profile:
        command = [
            browser,
            *HEADLESS_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{MAX_HEIGHT}",
            f"--screenshot={png.resolve()}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BrowserError(f"{browser} could not take the screenshot: {exc}") from None
    if not png.is_file():
        last = (done.stderr or done.stdout or "").strip().splitlines()[-1:] or ["no output"]
        raise BrowserError(f"{browser} wrote no screenshot ({done.returncode}): {last[0][:300]}")
    crop_to_content(png)
    return png


def crop_to_content(png: Path, margin: int = 24) -> bool:
    """Cut the uniform background below the page; False when Pillow is not installed."""
    try:
        from PIL import Image, ImageChops
    except ImportError:
        return False
    with Image.open(png) as image:
        rgb = image.convert("RGB")
    background = Image.new("RGB", rgb.size, rgb.getpixel((0, rgb.height - 1)))
    box = ImageChops.difference(rgb, background).getbbox()
    if box is None:
        return True
    bottom = min(rgb.height, box[3] + margin)
    rgb.crop((0, 0, rgb.width, bottom)).save(png)
    return True
