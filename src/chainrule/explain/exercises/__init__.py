"""Exercises: worksheets with the numbers blanked, and ``check`` for a learner's hand-computed numbers.

* ``steps`` — what can be answered, and the names that say where each number belongs;
* ``follow`` — recomputing a step from the learner's own earlier numbers;
* ``diagnose`` — the common slip behind a wrong number, when the numbers show it;
* ``check`` — marking an answers file;
* ``answers`` — reading and writing answers files;
* ``worksheet`` — the blanked sheet, as Markdown or as a web page.
"""

from .answers import AnswersFile, answers_header, answers_template, load_answers
from .check import CheckResult, Verdict, check_answers
from .steps import Step, answer_steps, normalize_key
from .worksheet import build_worksheet, worksheet_html, worksheet_markdown

__all__ = ["AnswersFile", "answers_header", "answers_template", "load_answers", "CheckResult", "Verdict",
           "check_answers", "Step", "answer_steps", "normalize_key", "build_worksheet", "worksheet_html",
           "worksheet_markdown"]
