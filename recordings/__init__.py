"""Voicemail recordings: audio inspection, offline speech-to-text and transcript normalisation."""
