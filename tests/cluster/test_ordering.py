"""The global order moves every row, whole, into the partition of its key's interval, with the counts of
earlier intervals; rows travel through Arrow files read one record batch at a time."""

import dask.dataframe as dd
import numpy as np
import pandas as pd

from assessment.partitions import GROUP, INTERVAL, KEY
from cluster.ordering import in_order
from cluster.storage import read_rows, write_rows


def test_batches_of_row_files_come_back_with_their_values_and_types(tmp_path):
    first = pd.DataFrame({"id": ["a", "b", "c"], "town": pd.Categorical(["w", "y", "x"]), "n": [1, 2, 3],
                          "flag": pd.array([True, None, False], dtype="boolean")})
    second = pd.DataFrame({"id": ["d", "e"], "town": pd.Categorical(["z", "x"]), "n": [4, 5],
                           "flag": pd.array([None, True], dtype="boolean")})
    empty = first.iloc[:0].astype({"id": object})  # an empty text column has no type in Arrow
    for name, frame, sizes in (("first", first, [1, 2]), ("second", second, [1, 0, 1]), ("empty", empty, [0])):
        write_rows(frame, tmp_path / name, sizes)
    got = read_rows([(str(tmp_path / "empty"), 0), (str(tmp_path / "first"), 1), (str(tmp_path / "second"), 0),
                     (str(tmp_path / "second"), 1)])
    assert got["id"].tolist() == ["b", "c", "d"]
    assert got["n"].tolist() == [2, 3, 4]
    assert got["flag"].tolist() == [pd.NA, False, pd.NA]
    # a categorical column, with the categories of the rows read (not "w", whose row was not), of both files
    assert isinstance(got["town"].dtype, pd.CategoricalDtype)
    assert got["town"].astype(object).tolist() == ["y", "x", "z"]
    assert sorted(got["town"].cat.categories) == ["x", "y", "z"]
    assert not any(path.name.startswith(".") for path in tmp_path.iterdir())  # no half-written file left


def test_every_row_reaches_the_interval_of_its_key_with_the_counts_before_it(engine, tmp_path):
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame({KEY: rng.integers(0, 40, n), GROUP: rng.integers(0, 3, n), "row": np.arange(n),
                          "label": pd.Categorical(rng.choice(["p", "q", "r"], n))})
    parts = dd.from_pandas(frame, npartitions=6, sort=False)
    ordered, = in_order([parts], intervals=6, scratch=tmp_path, group=GROUP)
    pieces = [ordered.frame.partitions[i].compute() for i in range(ordered.frame.npartitions)]
    assert ordered.frame.npartitions == len(ordered.bounds) + 1 > 1
    moved = pd.concat(pieces, ignore_index=True)
    # every row once, whole
    assert sorted(moved["row"]) == list(range(n))
    back = moved.set_index("row").sort_index()
    assert back[KEY].tolist() == frame[KEY].tolist() and back[GROUP].tolist() == frame[GROUP].tolist()
    assert back["label"].astype(object).tolist() == frame["label"].astype(object).tolist()
    # partition i holds exactly the keys of interval i: keys ascend from one partition to the next
    for i, piece in enumerate(pieces):
        assert (piece[INTERVAL] == i).all()
        if i and len(piece) and len(pieces[i - 1]):
            assert piece[KEY].min() > pieces[i - 1][KEY].max()
    # offsets: households of the same group in earlier intervals, counted here from the rows themselves
    for (interval, group), earlier in ordered.offsets.items():
        assert earlier == sum(((p[GROUP] == group).sum() for p in pieces[:interval]))
    assert ordered.sizes.to_dict() == frame[GROUP].value_counts().to_dict()
    assert ordered.households == n
