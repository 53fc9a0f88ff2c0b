"""Teaching material made from the book: solution-free sources, handouts and self-grading assignments.

- :mod:`.solutions` removes solutions from MyST Markdown and from notebooks;
- :mod:`.handouts` writes one solution-free notebook per exercises page
  (``python -m cnnbook_lib.teaching.handouts OUTDIR``);
- :mod:`.assignments` writes otter-grader assignments whose tests are the library's answer checks
  (``python -m cnnbook_lib.teaching.assignments OUTDIR``).
"""
