"""Checks that every layer applies to what a client sends: ids, request options, uploaded labels and volumes.

The datastores, trainers and strategies use them, and so does the HTTP layer above them; they import nothing of it.
"""
