"""Valid inputs, each with its schema and dialect. Every one runs through
the chunk-size x thread grid and must match the reference, row for row."""

from __future__ import annotations

from dataclasses import dataclass, field

import orders
from reference import INT_RANGES, Dialect


@dataclass
class Case:
    id: str
    data: bytes
    schema: dict | None
    dialect: Dialect = field(default_factory=Dialect)


def cols(*specs) -> dict:
    """A schema from (name, type[, nullable[, format]]) tuples."""
    out = []
    for s in specs:
        c = {"name": s[0], "type": s[1]}
        if len(s) > 2:
            c["nullable"] = s[2]
        if len(s) > 3:
            c["format"] = s[3]
        out.append(c)
    return {"columns": out}


def lines(*records: str, end: str = "\n") -> bytes:
    return "".join(r + end for r in records).encode()


def crlf(text: bytes) -> bytes:
    """Every line end as CRLF (line breaks inside quoted fields too)."""
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


QUOTING_SCHEMA = cols(("id", "int32", False), ("text", "string"), ("tail", "string"))
QUOTING = lines(
    "id,text,tail",
    '1,"a, b, c",plain',
    '2,"she said ""hi""",x',
    '3,"line one\nline two",y',
    '4,"","quoted empty is null"',
    '5,,unquoted empty is null',
    '6,"""",a lone quote',
    '7,""",""","quote, comma, quote"',
    '8,"ends with newline\n",z',
    '9,"\n\n\n",only newlines',
    '10,"  spaces kept  ",  also here  ',
    '11,"tab\there",w',
    '12,"crlf inside\r\nquotes",v',
    '13,"a ""quoted, and\nbroken"" line",u',
    '14,unquoted text,"last field, quoted"',
)

NULLS_SCHEMA = cols(
    ("id", "int64", False), ("b", "bool"), ("i8", "int8"), ("u64", "uint64"), ("f32", "float32"),
    ("f64", "float64"), ("d", "decimal(10,3)"), ("s", "string"), ("dt", "date32"),
    ("ts", "timestamp[ms, tz=UTC]"),
)
NULLS = lines(
    "id,b,i8,u64,f32,f64,d,s,dt,ts",
    "1,true,-1,1,1.5,2.5,1.250,x,2024-01-01,2024-01-01T00:00:00Z",
    "2,,,,,,,,,",
    '3,"","","","","","","","",""',
    "4,false,,7,,3.25,,y,,2024-01-01T12:00:00+05:30",
    '5,,1,,0.5,,-0.001,"",1999-12-31,',
)

TS_SCHEMA = cols(
    ("text", "string", False),
    ("ms_utc", "timestamp[ms, tz=UTC]"),
    ("s_utc", "timestamp[s, tz=UTC]"),
    ("us_utc", "timestamp[us, tz=UTC]"),
    ("ns_utc", "timestamp[ns, tz=UTC]"),
    ("ms_wall", "timestamp[ms]"),
    ("us_ny", "timestamp[us, tz=America/New_York]"),
)
TS_VALUES = [
    "2024-03-10T12:34:56.789Z",
    "2024-03-10T12:34:56.789+05:30",
    "2024-03-10T12:34:56.789-08:00",
    "2024-03-10T12:34:56+00:00",
    "2024-03-10T23:59:59.999+09:00",
    "2024-01-01T00:30:00.5-05:00",
    "2024-02-29T00:00:00.000+01:00",
    "2024-06-30 18:00:00.123456Z",
    "2024-06-30T18:00:00.123456789Z",
    "2024-06-30T18:00:00.1+0530",
    "2024-06-30T18:00:00.12-08",
    "1969-12-31T23:59:59.500Z",
    "1970-01-01T00:00:00Z",
    "1999-12-31T23:00:00-01:00",
    "2024-11-03T01:30:00",
    "2024-07-04T09:15",
    "2038-01-19T03:14:08Z",
    "2024-03-10",
]
TIMESTAMPS = lines("text,ms_utc,s_utc,us_utc,ns_utc,ms_wall,us_ny",
                   *[",".join([v] * 7) for v in TS_VALUES if not v.startswith("2024-11-03T01:30")],
                   # 01:30 on 2024-11-03 is ambiguous in New York: leave that column null
                   ",".join(["2024-11-03T01:30:00"] * 6) + ",")

DECIMAL_SCHEMA = cols(("d12_2", "decimal(12,2)"), ("d38_0", "decimal(38,0)"), ("d38_10", "decimal(38,10)"),
                      ("d5_5", "decimal(5,5)"))
DECIMALS = lines(
    "d12_2,d38_0,d38_10,d5_5",
    "1234.50,0,0.0000000001,0.12345",
    "-0.5,99999999999999999999999999999999999999,-9999999999999999999999999999.9999999999,-0.99999",
    "7,-99999999999999999999999999999999999999,1234567890.1234567890,.5",
    "9999999999.99,12345678901234567890,-0.5,-.00001",
    "-9999999999.99,+42,+3.25,0",
    "0.00,-0,1.2300000000,0.10000",
    "+3.1,007,0.0,-0",
    "1.230,1,1,0.00001",
)

INT_TYPES = list(INT_RANGES)
INT_SCHEMA = cols(*[(t, t, False) for t in INT_TYPES])
INTS = lines(
    ",".join(INT_TYPES),
    ",".join(str(INT_RANGES[t][0]) for t in INT_TYPES),
    ",".join(str(INT_RANGES[t][1]) for t in INT_TYPES),
    ",".join("0" for _ in INT_TYPES),
    ",".join("-1" if t.startswith("int") else "1" for t in INT_TYPES),
    ",".join(str(INT_RANGES[t][0] + 1) for t in INT_TYPES),
    ",".join(str(INT_RANGES[t][1] - 1) for t in INT_TYPES),
)

FLOAT_SCHEMA = cols(("f64", "float64", False), ("f32", "float32", False))
FLOATS = lines(
    "f64,f32",
    "1.5,1.5",
    "-0.0,-0.0",
    "0.1,0.1",
    "1e10,1e10",
    "1.7976931348623157e308,3.4028235e38",
    "-1.7976931348623157e308,-3.4028235e38",
    "5e-324,1e-45",
    "2.2250738585072014e-308,1.17549435e-38",
    "123456789.123456789,123456789.123456789",
    "NaN,nan",
    "inf,-inf",
    "-Infinity,Infinity",
    "3,4",
    "1E-5,2.5E+3",
    ".25,-.75",
)

BOOL_SCHEMA = cols(("b", "bool", False), ("n", "int8"))
BOOLS = lines("b,n", "true,1", "false,2", "TRUE,3", "False,4", "1,5", "0,6", "True,7", "FALSE,8")

DATE_SCHEMA = cols(("d", "date32", False), ("label", "string"))
DATES = lines("d,label", "1970-01-01,epoch", "1969-12-31,day before", "2024-02-29,leap", "2000-02-29,leap 400",
              "0001-01-01,first", "9999-12-31,last", "2024-12-31,end of year")

UNICODE_SCHEMA = cols(("id", "uint16", False), ("s", "string"), ("name_ünï", "string"))
UNICODE = lines(
    "id,s,name_ünï",
    "1,héllo wörld,Ça va",
    "2,日本語のテキスト,中文",
    '3,"emoji 😀🎉, with comma",👩\u200d👩\u200d👧',
    "4,مرحبا بالعالم,עברית",
    "5,e\u0301 combining,\u00a0nbsp\u00a0",
    '6,"multi\nline ☃",Ωmega',
    "7,𝔘𝔫𝔦𝔠𝔬𝔡𝔢,\u2028line sep",
)

BOM_SCHEMA = cols(("first", "int32", False), ("second", "string"))
BOM = b"\xef\xbb\xbf" + crlf(lines("first,second", "1,a", '2,"b\nc"', "3,"))

# A BOM starts the file and, as data, later records: only the first is skipped.
BOM_IN_DATA_SCHEMA = cols(("s", "string"), ("n", "int8"))
BOM_IN_DATA = b"\xef\xbb\xbf" + lines("s,n", "\ufeffa,1", "\ufeffb,2", "c,3", '"\ufeffquoted",4', "\ufeff,5")

NO_HEADER_SCHEMA = cols(("a", "int64", False), ("b", "string"), ("c", "decimal(6,2)"))
NO_HEADER = lines("1,x,1.25", '2,"y, z",2.50', "3,,", '4,"multi\nline",-9.99')

TAB_SCHEMA = cols(("k", "int16", False), ("v", "string"), ("amount", "float64"))
TAB = lines("k\tv\tamount", "1\ta,b\t1.5", '2\t"tab\tinside"\t2', '3\t"quoted ""x"""\t', "4\tsemi;colon\t-3e2")

SEMI_SCHEMA = cols(("k", "int16", False), ("v", "string"), ("d", "date32"))
SEMI = lines("k;v;d", "1;a,b;2024-01-02", '2;"semi;inside";', '3;"line\nbreak";2020-02-29', "4;;1999-01-01")

NULL_MARKER_SCHEMA = cols(("id", "int32", False), ("s", "string"), ("n", "int64"), ("f", "float64"))
NULL_MARKERS = lines("id,s,n,f", "1,NA,NA,NA", "2,NULL,5,NULL", "3,,,", '4,"NA",1,2.5', "5,na,7,0", "6,x,,1")
BACKSLASH_N = lines("id,s,n,f", "1,\\N,\\N,\\N", "2,,5,1", '3,"",6,2', "4,N,7,3")

FORMAT_SCHEMA = cols(("id", "int8", False), ("wall", "timestamp[s]", True, "%d/%m/%Y %H:%M"),
                     ("utc", "timestamp[ms, tz=UTC]", True, "%d/%m/%Y %H:%M"),
                     ("day", "date32", True, "%d/%m/%Y"))
FORMATS = lines("id,wall,utc,day", "1,02/01/1970 00:01,02/01/1970 00:01,02/01/1970",
                "2,31/12/1999 23:59,31/12/1999 23:59,31/12/1999", "3,29/02/2024 12:00,29/02/2024 12:00,29/02/2024",
                "4,,,", "5,01/01/1969 06:30,15/08/2023 07:05,15/08/2023")

REORDERED_SCHEMA = cols(("c", "string"), ("a", "int32", False))
REORDERED = lines("a,b,c,d", "1,skip,first,skip", '2,"skip, me","second",', "3,,,x")

ESCAPE_SCHEMA = cols(("k", "int8", False), ("v", "string"))
# The escape character inside quotes only: outside them its meaning differs
# between CSV readers (csv-core keeps it, Python's csv drops it).
ESCAPED = lines("k,v", r'1,"x\"y"', r'2,"back\\slash"', '3,"esc\\"\nnewline, \\"quoted\\""', '4,"doubled "" too"',
                r'5,"\""', "6,plain")

NO_FINAL_NEWLINE = b"a,b\n1,x\n2,y"
BLANK_LINES = b"a,b\n1,x\n\n2,y\n\n"
TWO_COLS = cols(("a", "int32", False), ("b", "string"))


def orders_case(rows: int, seed: int, end: str) -> bytes:
    text = orders.csv_text(rows, seed)
    return text.replace("\n", end).encode() if end != "\n" else text.encode()


def sample_orders() -> bytes:
    return (orders.REPO / "testdata" / "orders_sample.csv").read_bytes()


CASES = [
    Case("orders_sample", sample_orders(), orders.schema()),
    Case("orders_sample_crlf", crlf(sample_orders()), orders.schema()),
    Case("orders_1500", orders_case(1500, 3, "\n"), orders.schema()),
    Case("quoting_lf", QUOTING, QUOTING_SCHEMA),
    Case("quoting_crlf", crlf(QUOTING), QUOTING_SCHEMA),
    Case("nulls_every_type", NULLS, NULLS_SCHEMA),
    Case("timestamps", TIMESTAMPS, TS_SCHEMA),
    Case("timestamps_crlf", crlf(TIMESTAMPS), TS_SCHEMA),
    Case("decimals", DECIMALS, DECIMAL_SCHEMA),
    Case("integer_edges", INTS, INT_SCHEMA),
    Case("floats", FLOATS, FLOAT_SCHEMA),
    Case("bools", BOOLS, BOOL_SCHEMA),
    Case("dates", DATES, DATE_SCHEMA),
    Case("unicode", UNICODE, UNICODE_SCHEMA),
    Case("bom_crlf", BOM, BOM_SCHEMA),
    Case("bom_in_data", BOM_IN_DATA, BOM_IN_DATA_SCHEMA),
    Case("no_header", NO_HEADER, NO_HEADER_SCHEMA, Dialect(header=False)),
    Case("tab_delimiter", TAB, TAB_SCHEMA, Dialect(delimiter="\t")),
    Case("semicolon_delimiter", SEMI, SEMI_SCHEMA, Dialect(delimiter=";")),
    Case("semicolon_single_quote", SEMI.replace(b'"', b"'"), SEMI_SCHEMA, Dialect(delimiter=";", quote="'")),
    Case("null_markers", NULL_MARKERS, NULL_MARKER_SCHEMA, Dialect(nulls=["NA", "NULL", ""])),
    Case("null_marker_backslash_n", BACKSLASH_N, NULL_MARKER_SCHEMA, Dialect(nulls=["\\N"])),
    Case("custom_formats", FORMATS, FORMAT_SCHEMA),
    Case("header_reordered_extra_columns", REORDERED, REORDERED_SCHEMA),
    Case("no_schema_all_strings", QUOTING, None),
    Case("escape_backslash", ESCAPED, ESCAPE_SCHEMA, Dialect(escape="\\")),
    Case("no_final_newline", NO_FINAL_NEWLINE, TWO_COLS),
    Case("blank_lines", BLANK_LINES, TWO_COLS),
]
