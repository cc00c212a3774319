"""pandas' side of the profile benchmark (Debian's /usr/bin/python3 with python3-pandas).

The statistics `ops data profile` computes: describe() with the same quantiles for every column,
null counts and distinct counts. Prints one line so the work cannot be skipped.
"""
import sys

import pandas as pd

df = pd.read_csv(sys.argv[1])
described = df.describe(percentiles=[0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99], include='all')
nulls = df.isna().sum()
distinct = df.nunique()
print(len(described.columns), int(nulls.sum()), int(distinct.sum()))
