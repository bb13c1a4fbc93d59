"""Generated EXI grammar tables, one module per V2G schema (tools/generate_v2g_grammars.py)."""
