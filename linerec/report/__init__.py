"""The error-analysis report: evaluate's per-line readings → one static HTML page.

analysis: the numbers (accuracy by label length and aspect ratio, confused characters, worst
lines); crops: validation crops as data: URIs; page: the HTML (stages/report.py writes it).
"""
