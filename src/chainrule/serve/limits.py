"""What the server accepts, in one place (docs/serve.md lists the same numbers).

A classroom puts the app on a network, so every request is bounded: its body,
the problem it describes, the time the explainer may spend on it, and the
training sessions it may start. Past a limit the answer is one line,
``{"error": "…"}``, with the status below.
"""

from __future__ import annotations

#: Request bodies larger than this are refused with 413.
MAX_BODY_BYTES = 1024 * 1024
#: A problem (a built-in name, an expression or TOML text) longer than this is refused with 400.
MAX_PROBLEM_CHARS = 20_000
#: Values a request may set by name.
MAX_SET_VALUES = 64
#: Gradient-descent steps one explanation may take (the command line allows more; a page is read live).
MAX_EXPLAIN_STEPS = 50
#: Work in one explanation: parameters × steps × samples (the command line has no such limit; a server must
#: answer everyone, so a 256-wide network over 50 steps is refused rather than computed for minutes).
MAX_EXPLAIN_WORK = 50_000
#: Samples in an explained data set (each is narrated; the command line takes up to 5,000).
MAX_EXPLAIN_SAMPLES = 200
#: Seconds one explanation may take before the request is answered 503.
EXPLAIN_TIMEOUT_S = 10.0
#: Explanations computed at once (in worker threads, off the event loop); the rest wait their turn.
EXPLAIN_WORKERS = 2
#: Explanations waiting for a worker or running at once; past this a request is answered 503 at once.
MAX_PENDING_EXPLANATIONS = 64
#: Finished explanations kept, so that an unchanged request is answered at once.
EXPLAIN_CACHE_ENTRIES = 256

#: Training: the network and the data set.
MAX_LAYERS = 4  # hidden layers
MAX_LAYER_SIZE = 16
MAX_SAMPLES = 1000
MAX_TRAIN_STEPS = 5000
#: Training sessions running at once, per client address and in all.
MAX_SESSIONS_PER_CLIENT = 5
MAX_SESSIONS = 16
#: A session nobody has asked about for this many seconds has lost its client and is stopped.
SESSION_IDLE_S = 30.0
#: Epochs per second a session runs at most, so that a learner can watch it and sessions share the machine.
MAX_STEPS_PER_SECOND = 200
#: Finished sessions kept for their client to read, at most.
MAX_FINISHED_SESSIONS = 64
#: Side of the grid the decision boundary is drawn on.
BOUNDARY_GRID = 40

#: Answers one exercise check may carry.
MAX_ANSWERS = 500
