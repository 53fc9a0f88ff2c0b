"""Teaching material made from the book: solution-free sources, handouts and self-grading assignments.

- :mod:`.solutions` removes solutions from MyST Markdown and from notebooks;
- :mod:`.handouts` writes one solution-free notebook per exercises page
  (``python -m cnnbook_lib.teaching.handouts OUTDIR``);
- :mod:`.assignments` writes otter-grader assignments that ask exercises with numbers drawn from
  a secret seed (:mod:`.variants`) and grade them with hidden tests and the checks' logic
  (:mod:`.grading`; ``python -m cnnbook_lib.teaching.assignments OUTDIR``).
"""
