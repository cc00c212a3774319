"""scikit-learn's side of the forest benchmark (run with Debian's /usr/bin/python3 and python3-sklearn).

Reads the same CSV and split as bench/forest-run.ts, trains a RandomForestClassifier with the same
settings, and prints one JSON line: training and prediction times (ms) and the held-out AUC.
"""
import csv, json, sys, time

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

FEATURES = ['ns', 'nd', 'nf', 'entrophy', 'la', 'ld', 'lt', 'fix', 'ndev', 'age', 'nuc', 'exp', 'rexp', 'sexp']
path, train_rows, predict_rows, trees, min_leaf, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
with open(path) as f:
    rows = list(csv.DictReader(f))
X = np.array([[float(r[name]) for name in FEATURES] for r in rows])
y = np.array([int(r['bug']) for r in rows])
forest = RandomForestClassifier(n_estimators=trees, max_depth=None, max_features='sqrt', min_samples_leaf=min_leaf, bootstrap=True, n_jobs=jobs, random_state=1)
started = time.perf_counter()
forest.fit(X[:train_rows], y[:train_rows])
train_ms = (time.perf_counter() - started) * 1000
times = []
for _ in range(6):
    started = time.perf_counter()
    forest.predict_proba(X[-predict_rows:])
    times.append((time.perf_counter() - started) * 1000)
# The same as the project's side: the median of the five calls after the first.
predict_ms = sorted(times[1:])[2]
auc = roc_auc_score(y[train_rows:], forest.predict_proba(X[train_rows:])[:, 1])
print(json.dumps({'trainMs': train_ms, 'predictMs': predict_ms, 'auc': auc}))
