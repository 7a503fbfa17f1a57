"""Writes the bad-input corpus: one input file per case, byte for byte.

    python3 testdata/bad/make.py

The inputs are committed; this script is how they were made, so that bytes
a text editor would mangle (invalid UTF-8, NUL, CR, a byte order mark) are
written down where they can be read. Each case's expected outcome is in
`<case>.expected.json`, worked out from these bytes, and the schemas are the
`*.schema.json` files beside them. `tests/e2e/test_corpus.py` runs them.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
BOM = b"\xef\xbb\xbf"


def lf(*lines: str) -> bytes:
    """Lines of ASCII/UTF-8 text, each ended by LF."""
    return "".join(line + "\n" for line in lines).encode()


def deep(levels: int) -> str:
    """`levels` arrays nested inside each other."""
    return "[" * levels + "]" * levels


CASES: dict[str, bytes] = {
    # --- CSV quoting -------------------------------------------------------
    "csv_unterminated_quote.csv": lf("id,name,n", "1,a,1", '2,"open,2', "3,c,3"),
    "csv_unterminated_quote_at_end.csv": b'id,name,n\n1,a,1\n2,b,"never closed',
    "csv_text_after_closing_quote.csv": lf("id,name,n", '1,"ok",1', '2,"bad"x,2', '3,"also" ,3', "4,d,4"),
    "csv_bare_quote_in_unquoted_field.csv": lf("id,name,n", '1,6" ruler,1', "2,b,2", '3,x",3', "4,d,4"),
    "csv_doubled_quotes.csv": lf("id,name,n", '1,"say ""hi""",1', '2,"""",2', '3,"",3', '4,a""b,4',
                                 '5,"x""",5', '6,"a""""b",6'),
    "csv_quoted_newlines.csv": lf("id,name,n", '1,"two\nlines",1', '2,"three\n\nlines",x', "3,c,3",
                                  "4,d,99999999999"),
    # --- CSV shape ---------------------------------------------------------
    "csv_ragged_rows.csv": lf("id,name,n", "1,a,1", "2,b", "3,c,3,extra", "4,d,4,", "5", "6,,", "7,g,7"),
    "csv_blank_lines.csv": b"id,name,n\n\n1,a,1\n\n\n2,b,x\n\r\n3,c,3\n\n",
    "csv_blank_lines_before_header.csv": b"\n\nid,name,n\n1,a,1\n2,b,x\n",
    "csv_space_only_line.csv": b"id,name,n\n1,a,1\n \n2,b,2\n",
    "csv_crlf.csv": b'id,name,n\r\n1,a,1\r\n2,b,zz\r\n3,"c\r\nd",3\r\n4,e,\r\n5,f,5x\r\n',
    "csv_mixed_line_endings.csv": b"id,name,n\n1,a,1\r\n2,b,2\n3,c,x\r\n4,d,4\n5,e,5\r\n6,f,y",
    "csv_cr_only_line_breaks.csv": b"id,name,n\r1,a,1\r2,b,2\r",
    "csv_bom.csv": BOM + b"id,name,n\n1,a,1\n2,b,x\n" + BOM + b"3,c,3\n4,d,4\n",
    "csv_bom_header_only_crlf.csv": BOM + b"id,name,n\r\n",
    "csv_header_only.csv": b"id,name,n\n",
    "csv_header_only_no_newline.csv": b"id,name,n",
    "csv_empty_file.csv": b"",
    # --- CSV bytes ---------------------------------------------------------
    "csv_invalid_utf8_mid_field.csv": b"id,name,n\n1,ab\xffcd,1\n2,ok,2\n3,caf\xc3,3\n4,\xe2\x82\xac,4\n",
    "csv_invalid_utf8_in_header.csv": b"id,name,n,x\xff\n1,a,1,z\n",
    "csv_nul_bytes.csv": b'id,name,n\n1,a\x00b,1\n2,b,\x00\n3,"\x00",3\n',
    # --- CSV types ---------------------------------------------------------
    "csv_int_overflow.csv": lf(
        "id,i8,i32,u64,i64",
        "1,127,2147483647,18446744073709551615,9223372036854775807",
        "2,128,1,1,1",
        "3,-128,-2147483649,0,-9223372036854775808",
        "4,0,0,-1,0",
        "5,0,0,18446744073709551616,9223372036854775808",
        "9223372036854775808,1,1,1,1",
        "7,1e2,+5,007,-0",
    ),
    "csv_float_overflow.csv": lf(
        "id,f64,f32",
        "1,1.7976931348623157e308,3.4028235e38",
        "2,1e999,1",
        "3,-1e999,1",
        "4,1,1e39",
        "5,inf,-inf",
        "6,nan,nan",
        "7,1.5e,2",
    ),
    "csv_decimal_errors.csv": lf("id,d", "1,1234.56", "2,12345.6", "3,1.234", "4,1.230", "5,1e2", "6,1e999",
                                 "7,-9999.99", "8,12.3.4"),
    "csv_impossible_dates.csv": lf("id,day", "1,2024-02-29", "2,2023-02-29", "3,2024-04-31", "4,2024-13-01",
                                   "5,2024-00-10", "6,2024-01-00", "7,1900-02-29", "8,2000-02-29"),
    "csv_timestamp_errors.csv": lf(
        "id,ts",
        "1,2024-01-01T00:00:00Z",
        "2,2024-01-01T24:00:00Z",
        "3,2024-01-01T12:60:00Z",
        "4,2024-02-30T00:00:00Z",
        "5,2024-01-01T00:00:00+25:00",
        "6,2024-01-01T00:00:61Z",
        "7,2024-01-01X00:00:00Z",
        "8,2024-01-01 00:00",
    ),
    "csv_timestamp_without_zone.csv": lf(
        "id,ts,wall",
        "1,2024-01-01 10:00:00+0200,2024-01-01 10:00:00",
        "2,2024-01-01 10:00:00,2024-01-01 10:00:00",
        "3,2024-06-30 23:59:59-0700,2024-06-30T23:59:59",
    ),
    "csv_bool_errors.csv": lf("id,flag", "1,true", "2,maybe", "3,YES", "4,2", "5,N", "6,", "7,tru"),
    # --- CSV constraints ---------------------------------------------------
    "csv_constraint_required.csv": lf("id,name", "1,a", "2,", '3,""', "4, "),
    "csv_null_in_non_nullable.csv": lf("id,code", "1,a", ",b", "3,", '4,""', ","),
    "csv_constraint_min_max.csv": lf(
        "id,n,d,day,f",
        "1,0,0.01,2024-01-01,1.0",
        "2,100,999.99,2024-12-31,-5",
        "3,-1,0.01,2024-01-01,0",
        "4,101,0.00,2023-12-31,1.5",
        "5,50,,2025-01-01,nan",
        "6,,,,",
    ),
    "csv_constraint_length.csv": lf("id,name", "1,ab", "2,éééé", "3,ééééé", "4,a", "5,", "6,é"),
    "csv_constraint_pattern.csv": lf("id,code", "1,UK", "2,uk", "3,UKX", "4,U", "5,", "6,DE"),
    "csv_constraint_enum.csv": lf("id,status,n", "1,new,1", "2,NEW,2", "3,paid ,3", "4,paid,4", "5,new,", "6,,0"),
    "csv_type_and_constraint_in_one_row.csv": lf("id,name,n", "1,abc,1", "2,ABC,x", "3,abc,y"),
    # --- NDJSON ------------------------------------------------------------
    "ndjson_syntax_errors.ndjson": lf(
        '{"id":1,"name":"a","n":1}',
        '{"id":2,"name":}',
        '{"id":3,"name":"c","n":3,}',
        '{"id":4 "name":"d"}',
        '{"id":5,"name":"e","n":5}',
    ),
    "ndjson_truncated_lines.ndjson": b'{"id":1,"name":"a"}\n{"id":2,"name":"b\n{"id":3,"name":"c"}\n{"id":4,"na',
    "ndjson_non_object_lines.ndjson": lf('{"id":1}', "[1,2]", "42", '"{\\"id\\":3}"', "null", "true", '{"id":7}'),
    "ndjson_duplicate_keys.ndjson": lf('{"id":1,"name":"a"}', '{"id":2,"name":"a","name":"b"}', '{"id":3,"id":3}',
                                       '{"id":4,"n":4}'),
    "ndjson_duplicate_unknown_key.ndjson": lf('{"id":1,"x":1}', '{"id":2,"x":1,"x":2}'),
    "ndjson_duplicate_escaped_key.ndjson": lf('{"id":1,"name":"a"}', '{"id":2,"name":"a","n\\u0061me":"b"}'),
    "ndjson_deep_nesting.ndjson": lf(
        '{"id":1,"x":' + deep(127) + "}",
        '{"id":2,"x":' + deep(128) + "}",
        '{"id":3,"name":"' + deep(200) + '"}',
        '{"id":4,"x":' + '{"a":' * 64 + "1" + "}" * 64 + "}",
    ),
    "ndjson_lone_surrogates.ndjson": lf(
        '{"id":1,"name":"a"}',
        '{"id":2,"name":"\\ud800"}',
        '{"id":3,"name":"x\\udc00y"}',
        '{"id":4,"name":"\\ud83d\\ude00"}',
        '{"id":5,"name":"\\ud83d\\u0041"}',
        '{"id":6,"\\ud800":1}',
    ),
    "ndjson_invalid_utf8.ndjson": b'{"id":1,"name":"a"}\n{"id":2,"name":"ab\xffcd"}\n{"id":3,"name":"\xc3\xa9"}\n',
    "ndjson_nul_bytes.ndjson": b'{"id":1,"name":"a\\u0000b"}\n{"id":2,"name":"a\x00b"}\n\x00\n{"id":4}\n',
    "ndjson_blank_lines_crlf.ndjson": b'\n{"id":1,"n":1}\r\n\r\n\n{"id":2,"n":"x"}\r\n{"id":3,"n":3}\n\n',
    "ndjson_type_errors.ndjson": lf(
        '{"id":1,"name":"a","n":1}',
        '{"id":2,"n":"abc"}',
        '{"id":3,"n":1.5}',
        '{"id":4,"n":3000000000}',
        '{"id":5,"n":true}',
        '{"id":null,"n":6}',
        '{"name":"no id"}',
        '{"id":8,"name":5}',
        '{"id":9,"name":[1]}',
    ),
    "ndjson_unknown_field.ndjson": lf('{"id":1,"name":"a"}', '{"id":2,"extra":1}', '{"id":3,"n":3}'),
    "ndjson_empty_file.ndjson": b"",
    "ndjson_only_blank_lines.ndjson": b"\n\n\r\n\n",
    # --- JSON array --------------------------------------------------------
    "json_array_empty_input.json": b"",
    "json_array_whitespace_only.json": b"  \n ",
    "json_array_not_an_array.json": b'{"id":1}\n',
    "json_array_missing_comma.json": b'[\n{"id":1}\n{"id":2}\n]\n',
    "json_array_trailing_comma.json": b'[\n{"id":1},\n{"id":2},\n]\n',
    "json_array_empty_element.json": b'[\n{"id":1},\n,\n{"id":2}\n]\n',
    "json_array_never_closes.json": b'[\n{"id":1},\n{"id":2}\n',
    "json_array_data_after_close.json": b'[\n{"id":1}\n] x\n',
    "json_array_bad_elements.json": b'[\n{"id":1,"name":"a"},\n5,\n{"id":2,"name":"b","name":"c"},\n'
                                    b'{"id":"x"},\n{"id":3}\n]\n',
    "json_array_syntax_in_element.json": b'[{"id":1}, {"id":2,"name":nul}, {"id":3,"name":"\\udfff"},\n'
                                         b'  {"id":4}]\n',
    "json_array_empty.json": b"[ ]\n",
}


def main() -> None:
    for name, data in CASES.items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
