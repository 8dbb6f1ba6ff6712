"""Calls spoken aloud in the waiting area: the sentence, a chime, and the offline Mandarin synthesiser."""
