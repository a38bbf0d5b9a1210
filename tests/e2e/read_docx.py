"""Reads a Word document the way Word's object model shows it, with python-docx, and prints
its headings, bullets, tables and the images' alt texts as JSON, for tests/e2e/incidents.rs."""
import json
import sys

import docx

document = docx.Document(sys.argv[1])
paragraphs = document.paragraphs


def style(p):
    return p.style.name if p.style is not None else ""


print(json.dumps({
    "headings": [p.text for p in paragraphs if style(p).startswith("Heading")],
    "bullets": [p.text for p in paragraphs if style(p) == "List Bullet"],
    "tables": [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables],
    "images": [shape._inline.docPr.get("descr") for shape in document.inline_shapes],
}, ensure_ascii=False))
