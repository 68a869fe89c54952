"""telephony: infrastructure as code for ElevenLabs voice agents on phone systems."""

__version__ = "0.2.0"
