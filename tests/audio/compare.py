#!/usr/bin/env python3
"""What was said against what was heard: the delay (by cross-correlation) and
the intelligibility (STOI, with pystoi, the reference implementation).

usage: compare.py SAID.wav HEARD.wav   ->  one JSON line: {"stoi", "delay_ms", "correlation"}
"""
import json
import sys
from math import gcd

import numpy as np
from pystoi import stoi
from scipy.io import wavfile
from scipy.signal import correlate, resample_poly


def load(path):
    rate, x = wavfile.read(path)
    if x.dtype == np.int16:
        x = x.astype(np.float64) / 32768.0
    else:
        x = x.astype(np.float64)
    if x.ndim > 1:
        x = x.mean(axis=1)
    return rate, x


def main():
    said_rate, said = load(sys.argv[1])
    rate, heard = load(sys.argv[2])
    if said_rate != rate:
        g = gcd(said_rate, rate)
        said = resample_poly(said, rate // g, said_rate // g)
    c = correlate(heard, said, mode="full", method="fft")
    lag = int(np.argmax(np.abs(c))) - (len(said) - 1)
    norm = np.sqrt(np.sum(said**2) * np.sum(heard**2)) or 1.0
    aligned = heard[max(lag, 0):max(lag, 0) + len(said)]
    aligned = np.pad(aligned, (0, len(said) - len(aligned)))
    print(json.dumps({
        "stoi": float(stoi(said, aligned, rate, extended=False)),
        "delay_ms": lag * 1000.0 / rate,
        "correlation": float(np.max(np.abs(c)) / norm),
    }))


if __name__ == "__main__":
    main()
