"""Text for phones: what a message costs in GSM-7 or UCS-2, and where Khmer text may be cut.

It sits below conversations, registry and workers, which all measure or cut text.
"""
