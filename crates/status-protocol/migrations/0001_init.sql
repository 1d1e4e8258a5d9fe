-- status-protocol store, schema 1: one key-value table; `tbl` is the
-- `store::Table` discriminant, keys are laid out so prefix scans list a
-- chat's messages in clock order.
CREATE TABLE kv (
    tbl INTEGER NOT NULL,
    k   BLOB    NOT NULL,
    v   BLOB    NOT NULL,
    PRIMARY KEY (tbl, k)
) WITHOUT ROWID;
