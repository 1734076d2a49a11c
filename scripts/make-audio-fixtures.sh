#!/usr/bin/env bash
# Regenerates the committed audio fixtures of test/fixtures/audio/ (run by hand; tests never run
# ffmpeg). Needs Debian's flite, sox, ffmpeg (libopus, libmp3lame) and perl.
#   scripts/make-audio-fixtures.sh [out-dir]
# Speech is flite's built-in voice (8 kHz), trimmed of its leading/trailing silence, then converted.
set -euo pipefail
out="${1:-$(dirname "$0")/../test/fixtures/audio}"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ff() { ffmpeg -hide_banner -loglevel error -nostdin -y "$@"; }
bitexact=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact)

# The source: "hello, this is a test" (about 1.5 s once trimmed), 16 kHz mono 16-bit.
flite -t "hello, this is a test" -o "$tmp/flite.wav"
sox -R "$tmp/flite.wav" -r 16000 -b 16 -c 1 "$out/speech-16k.wav" \
  silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0.05 0.05

# WAV 44.1 kHz stereo 24-bit: the first 0.2 s only (44.1k x 2 x 3 bytes is 265 KB a second).
sox -R "$out/speech-16k.wav" -r 44100 -b 24 -c 2 "$out/speech-44k-stereo-24bit.wav" trim 0 0.2

# What browsers' MediaRecorder uploads: Opus at 48 kHz in WebM, and in Ogg (Firefox).
ff -i "$out/speech-16k.wav" -ar 48000 -c:a libopus -b:a 32k "${bitexact[@]}" "$out/speech-48k.webm"
ff -i "$out/speech-16k.wav" -ar 48000 -c:a libopus -b:a 32k "${bitexact[@]}" "$out/speech-48k.ogg"

# MP3 as Edge TTS sends it: 24 kHz mono 48 kbit/s; and the same cut off in the middle of a frame.
ff -i "$out/speech-16k.wav" -ar 24000 -ac 1 -c:a libmp3lame -b:a 48k "${bitexact[@]}" "$out/speech-24k.mp3"
size=$(stat -c %s "$out/speech-24k.mp3")
head -c $((size / 2 + 90)) "$out/speech-24k.mp3" > "$out/truncated.mp3"

# A WebM whose middle 1500 bytes are overwritten with pseudo-random garbage.
cp "$out/speech-48k.webm" "$out/garbage-middle.webm"
perl -e '
  my ($f) = @ARGV; open(my $h, "+<:raw", $f) or die $!; my $size = -s $f;
  seek($h, int($size / 2) - 750, 0); srand(7); print $h pack("C*", map { int(rand(256)) } 1 .. 1500); close $h;
' "$out/garbage-middle.webm"

# Silence with a little noise (peak about -60 dBFS): 1 s, 16 kHz.
sox -R -n -r 16000 -b 16 -c 1 "$out/silent-16k.wav" synth 1.0 whitenoise vol 0.001

# Formats we recognise but do not decode: AAC in MP4 (M4A) and FLAC, 0.5 s each.
ff -i "$out/speech-16k.wav" -t 0.5 -c:a aac -b:a 32k "${bitexact[@]}" "$out/speech.m4a"
ff -i "$out/speech-16k.wav" -t 0.5 -c:a flac "${bitexact[@]}" "$out/speech.flac"

ls -l "$out"
