"""CSV/Excel import of people and transactions (issue 18): the pure core first.

``sniff`` reads an uploaded file as a stream (encoding, delimiter, header, rows) and refuses bad
input with a specific message; ``mapping`` suggests column → field from header names and holds
the reusable mapping manifest and its value transforms. Neither module touches the database.
"""
