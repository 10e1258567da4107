"""Writes static/sounds/notify.wav, the desktop's notification sound: a soft two-note chime
(0.3 s, 22.05 kHz mono), generated here rather than downloaded. Run again to change it."""

import math
import struct
import wave
from pathlib import Path

RATE = 22_050
NOTES = ((880.0, 0.12), (1318.5, 0.18))  # A5 then E6
VOLUME = 0.25
TARGET = Path(__file__).resolve().parents[1] / "static" / "sounds" / "notify.wav"


def samples():
    for frequency, seconds in NOTES:
        count = int(RATE * seconds)
        for i in range(count):
            envelope = min(1.0, i / (RATE * 0.01)) * (1 - i / count) ** 2  # soft attack, fade
            yield VOLUME * envelope * math.sin(2 * math.pi * frequency * i / RATE)


def main():
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(TARGET), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"".join(struct.pack("<h", int(s * 32767)) for s in samples()))


if __name__ == "__main__":
    main()
