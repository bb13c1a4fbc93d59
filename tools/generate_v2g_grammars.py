#!/usr/bin/env python3
"""Generate the EXI grammar tables for the V2G schemas (harness/codec/v2g/grammars/).

Usage:
    pip download --no-deps iso15118==0.31.2 -d /tmp/wheel
    python tools/generate_v2g_grammars.py /tmp/wheel/iso15118-0.31.2-py3-none-any.whl

The argument may also be an unpacked ``iso15118/shared/schemas`` directory.  The XSDs are not
committed (they belong to the wheel); the generated modules are, and this script regenerates them
byte-identically.

What it derives (EXI 1.0, section 8.5.4, schema-informed, non-strict, default fidelity options):

* the document grammar: every global element of the schema set sorted by local name, then
  namespace (8.5.1);
* the fragment grammar: every element declaration sorted the same way (8.5.2), used for the canonical
  EXI of signed elements;
* one element grammar per type: attribute uses sorted by qname, then the particle grammar of the
  content model with every occurrence unrolled (8.5.4.1.4), substitution groups expanded (8.5.4.1.6),
  normalised into a deterministic grammar (8.5.4.2) and event codes assigned (8.5.4.2.2);
* the undeclared (second level) productions that non-strict mode adds to each state (8.5.4.4.1).

The output is plain tuples so that the runtime walks them with tight loops.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import xmlschema

XSD_NS = "http://www.w3.org/2001/XMLSchema"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

# Production kinds, shared with harness/codec/exi/grammar.py (the runtime reads these numbers).
K_SE = 0
K_AT = 1
K_CH = 2
K_EE = 3
K_SE_ANY = 4

# Second-level (undeclared) production kinds, EXI 1.0 section 8.5.4.4.1, in event-code order.
U_EE = 0
U_XSI_TYPE = 1
U_XSI_NIL = 2
U_AT_ANY = 3
U_AT_INVALID = 4
U_SE_ANY = 5
U_CH_ANY = 6

# Datatype kinds (EXI 1.0 section 7.1).
DT_BOOL = 0
DT_NBIT = 1
DT_UINT = 2
DT_INT = 3
DT_ENUM = 4
DT_STR = 5
DT_HEX = 6
DT_B64 = 7

# EXI 1.0 section 7.1.9: a bounded integer range of at most 4096 values is an n-bit unsigned integer.
NBIT_RANGE_LIMIT = 4096

# The ISO 15118-2 XSDs in the iso15118 wheel mark the substitution-group heads abstract; the published
# ISO 15118-2:2014 schemas that EXIficient's built-in grammar, the C stacks and the EVs on the road
# were generated from do not, so the heads stay in their groups (the event codes depend on it; the
# shared capture vectors confirm it).
NOT_ABSTRACT = {
    "{urn:iso:15118:2:2013:MsgBody}BodyElement",
    "{urn:iso:15118:2:2013:MsgDataTypes}SASchedules",
    "{urn:iso:15118:2:2013:MsgDataTypes}Entry",
    "{urn:iso:15118:2:2013:MsgDataTypes}TimeInterval",
    "{urn:iso:15118:2:2013:MsgDataTypes}EVSEStatus",
    "{urn:iso:15118:2:2013:MsgDataTypes}EVStatus",
    "{urn:iso:15118:2:2013:MsgDataTypes}EVChargeParameter",
    "{urn:iso:15118:2:2013:MsgDataTypes}EVSEChargeParameter",
    "{urn:iso:15118:2:2013:MsgDataTypes}EVPowerDeliveryParameter",
}

SCHEMAS: dict[str, tuple[str, str]] = {
    # CLI name -> (module name, XSD path below iso15118/shared/schemas/)
    "app": ("app", "V2G_CI_AppProtocol.xsd"),
    "din": ("din", "din_spec/V2G_CI_MsgDef.xsd"),
    "iso2": ("iso2", "iso15118_2/V2G_CI_MsgDef.xsd"),
    "iso20-common": ("iso20_common", "iso15118_20/V2G_CI_CommonMessages.xsd"),
    "iso20-ac": ("iso20_ac", "iso15118_20/V2G_CI_AC.xsd"),
    "iso20-dc": ("iso20_dc", "iso15118_20/V2G_CI_DC.xsd"),
    "iso20-acdp": ("iso20_acdp", "iso15118_20/V2G_CI_ACDP.xsd"),
    "iso20-wpt": ("iso20_wpt", "iso15118_20/V2G_CI_WPT.xsd"),
    # ISO 15118-2 7.9.2.4 / -20 8.4: SignedInfo is canonicalised with the xmldsig schema alone.
    "xmldsig": ("xmldsig", "xmldsig-core-schema.xsd"),
}


def split_qname(qname: str) -> tuple[str, str]:
    """'{ns}local' -> (local, ns)."""
    if qname.startswith("{"):
        ns, local = qname[1:].split("}", 1)
        return local, ns
    return qname, ""


def code_width(n: int) -> int:
    """Bits needed to tell n alternatives apart (EXI 1.0 section 6.2)."""
    return 0 if n <= 1 else math.ceil(math.log2(n))


# --------------------------------------------------------------------------------------------------
# Datatypes


class Datatypes:
    def __init__(self) -> None:
        self.table: list[tuple] = []
        self.index: dict[tuple, int] = {}

    def add(self, dt: tuple) -> int:
        if dt not in self.index:
            self.index[dt] = len(self.table)
            self.table.append(dt)
        return self.index[dt]

    def of(self, st) -> int:
        return self.add(describe_simple_type(st))


def _is_derived_from(st, name: str) -> bool:
    t = st
    while t is not None:
        if getattr(t, "name", None) == name:
            return True
        t = getattr(t, "base_type", None)
    return False


def _length_bounds(st) -> tuple[int, int]:
    lo, hi = 0, -1
    t = st
    while t is not None:
        facets = getattr(t, "facets", None) or {}
        for key, facet in facets.items():
            if key is None:
                continue
            local = split_qname(key)[0]
            if local == "maxLength" and hi < 0:
                hi = int(facet.value)
            elif local == "minLength" and lo == 0:
                lo = int(facet.value)
            elif local == "length":
                lo = hi = int(facet.value)
        t = getattr(t, "base_type", None)
    return lo, hi


def describe_simple_type(st) -> tuple:
    """A datatype descriptor per EXI 1.0 section 7.1 (and 7.2 for enumerations)."""
    if getattr(st, "is_list", lambda: False)() or getattr(st, "is_union", lambda: False)():
        raise SystemExit(f"unsupported list/union type {st}")
    enumeration = getattr(st, "enumeration", None)
    if enumeration:
        values = tuple(str(v) if not isinstance(v, bool) else ("true" if v else "false") for v in enumeration)
        return (DT_ENUM, values, code_width(len(values)))
    prim = st.primitive_type.local_name
    if prim == "boolean":
        return (DT_BOOL,)
    if prim == "decimal":
        if not _is_derived_from(st, f"{{{XSD_NS}}}integer"):
            raise SystemExit(f"unsupported decimal type {st}")
        lo = st.min_value
        hi = st.max_value
        lo = None if lo is None else int(lo)
        hi = None if hi is None else int(hi)
        if lo is not None and hi is not None and hi - lo + 1 <= NBIT_RANGE_LIMIT:
            return (DT_NBIT, lo, hi, code_width(hi - lo + 1))
        if lo is not None and lo >= 0:
            return (DT_UINT, lo, hi)
        return (DT_INT, lo, hi)
    if prim in ("string", "anyURI"):
        lo, hi = _length_bounds(st)
        return (DT_STR, lo, hi)
    if prim == "hexBinary":
        lo, hi = _length_bounds(st)
        return (DT_HEX, lo, hi)
    if prim == "base64Binary":
        lo, hi = _length_bounds(st)
        return (DT_B64, lo, hi)
    raise SystemExit(f"unsupported primitive type {prim} ({st})")


# --------------------------------------------------------------------------------------------------
# Proto-grammar as an NFA: states with labelled edges and epsilon edges


@dataclass
class NState:
    edges: list[tuple[tuple, int]] = field(default_factory=list)  # (event, target)
    eps: list[int] = field(default_factory=list)
    accept: bool = False
    marker: bool = False  # an attribute state (EXI: Element_i,j with j <= content)


class NFA:
    def __init__(self) -> None:
        self.states: list[NState] = []

    def new(self) -> int:
        self.states.append(NState())
        return len(self.states) - 1

    def closure(self, seeds) -> frozenset[int]:
        seen = set(seeds)
        stack = list(seeds)
        while stack:
            s = stack.pop()
            for t in self.states[s].eps:
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
        return frozenset(seen)


class Generator:
    def __init__(self, schema: xmlschema.XMLSchema10) -> None:
        self.schema = schema
        self.dts = Datatypes()
        self.grammars: list[tuple | None] = []
        self.grammar_of_type: dict[int, int] = {}
        self.pending: list[tuple[int, object]] = []
        self.particle_order: dict[int, int] = {}
        self.keep: list[object] = []  # keep xmlschema objects alive so id() stays unique
        subst: dict[str, list] = {}
        for head, members in schema.maps.substitution_groups.items():
            subst[head] = list(members)
        self.subst = subst
        self.all_decls: dict[str, list] = {}
        self.all_attrs: dict[str, set[tuple]] = {}

    # ---- grammar ids ------------------------------------------------------------------------

    def grammar_for(self, xsd_type) -> int:
        key = id(xsd_type)
        if key not in self.grammar_of_type:
            self.keep.append(xsd_type)
            gid = len(self.grammars)
            self.grammars.append(None)
            self.grammar_of_type[key] = gid
            self.pending.append((gid, xsd_type))
        return self.grammar_of_type[key]

    def element_grammar(self, decl) -> int:
        self.all_decls.setdefault(decl.name, []).append(decl)
        return self.grammar_for(decl.type)

    def run(self) -> None:
        while self.pending:
            gid, xsd_type = self.pending.pop(0)
            self.grammars[gid] = self.build_type_grammar(xsd_type)

    # ---- substitution groups ----------------------------------------------------------------

    def substitutes(self, decl) -> list:
        """The head (unless abstract) and every member of its substitution group, sorted by qname."""
        out = {}
        stack = [decl]
        while stack:
            d = stack.pop()
            if d.name in out:
                continue
            out[d.name] = d
            stack.extend(self.subst.get(d.name, []))
        members = [d for d in out.values() if not d.abstract or d.name in NOT_ABSTRACT]
        members.sort(key=lambda d: split_qname(d.name))
        return members

    # ---- particles --------------------------------------------------------------------------

    def mark_multi(self, particle, multi: set[str]) -> None:
        """Elements that may repeat (their own maxOccurs or an enclosing group's) are lists in JSON."""
        if isinstance(particle, xmlschema.validators.XsdGroup):
            for item in particle:
                self.mark_multi(item, multi)
        elif isinstance(particle, xmlschema.validators.XsdElement):
            for d in self.substitutes(particle):
                multi.add(split_qname(d.name)[0])

    def build_particle(self, nfa: NFA, particle, nxt: int, multi: set[str]) -> int:
        lo = particle.min_occurs
        hi = particle.max_occurs  # None = unbounded
        if hi is not None and hi == 0:
            return nxt
        if hi is None or hi > 1:
            self.mark_multi(particle, multi)
        if hi is None:
            loop = nfa.new()
            nfa.states[loop].eps.append(nxt)
            start = self.build_term(nfa, particle, loop, multi)
            nfa.states[loop].eps.append(start)
            cur = loop
        else:
            cur = nxt
            for _ in range(hi - lo):
                t = self.build_term(nfa, particle, cur, multi)
                s = nfa.new()
                nfa.states[s].eps.extend([t, nxt])
                cur = s
        for _ in range(lo):
            cur = self.build_term(nfa, particle, cur, multi)
        return cur

    def build_term(self, nfa: NFA, particle, nxt: int, multi: set[str]) -> int:
        v = xmlschema.validators
        if isinstance(particle, v.XsdElement):
            order = self.particle_order[id(particle)]
            s = nfa.new()
            for i, d in enumerate(self.substitutes(particle)):
                gid = self.element_grammar(d)
                local = split_qname(d.name)[0]
                nfa.states[s].edges.append(((K_SE, local, gid, (order, i)), nxt))
            return s
        if isinstance(particle, v.XsdAnyElement):
            order = self.particle_order[id(particle)]
            s = nfa.new()
            nfa.states[s].edges.append(((K_SE_ANY, "*", -1, (order, 0)), nxt))
            return s
        if isinstance(particle, v.XsdGroup):
            if particle.model == "sequence":
                cur = nxt
                for item in reversed(list(particle)):
                    cur = self.build_particle(nfa, item, cur, multi)
                return cur
            if particle.model == "choice":
                s = nfa.new()
                items = list(particle)
                for item in items:
                    nfa.states[s].eps.append(self.build_particle(nfa, item, nxt, multi))
                if not items:
                    nfa.states[s].eps.append(nxt)
                return s
            raise SystemExit(f"unsupported model group {particle.model}")
        raise SystemExit(f"unsupported particle {particle!r}")

    def number_particles(self, particle) -> None:
        """Schema order (8.5.4.2.2): the position of each element particle in the content model."""
        v = xmlschema.validators
        if isinstance(particle, v.XsdGroup):
            for item in particle:
                self.number_particles(item)
        else:
            self.keep.append(particle)
            self.particle_order[id(particle)] = len(self.particle_order)

    # ---- type grammars ----------------------------------------------------------------------

    def build_type_grammar(self, xsd_type) -> tuple:
        nfa = NFA()
        multi: set[str] = set()
        # Attribute uses sorted lexicographically by local name, then namespace (8.5.4.1.3.1).
        attrs = []
        if xsd_type.is_complex():
            for name, attr in xsd_type.attributes.items():
                if name is None:
                    raise SystemExit(f"attribute wildcard in {xsd_type} not supported")
                local, ns = split_qname(attr.name)
                attrs.append(((local, ns), attr))
                self.all_attrs.setdefault(attr.name, set()).add(describe_simple_type(attr.type))
            attrs.sort(key=lambda a: a[0])
        end = nfa.new()
        nfa.states[end].accept = True
        simple = -1
        # Content
        if not xsd_type.is_complex() or xsd_type.has_simple_content():
            st = xsd_type if not xsd_type.is_complex() else xsd_type.content
            dt = self.dts.of(st)
            simple = dt
            content = nfa.new()
            nfa.states[content].edges.append(((K_CH, "", dt, (0, 0)), end))
        elif xsd_type.is_empty() and not xsd_type.mixed:
            content = end
        else:
            self.particle_order = {}
            self.number_particles(xsd_type.content)
            content = self.build_particle(nfa, xsd_type.content, end, multi)
            if xsd_type.mixed:
                # 8.5.4.1.3.2: mixed content adds CH [untyped value] looping on every content state.
                string_dt = self.dts.add((DT_STR, 0, -1))
                for i, s in enumerate(nfa.states):
                    s.edges.append(((K_CH, "", string_dt, (0, 0)), i))
        # Attribute states in front of the content (Type_i,0 .. Type_i,content).
        marker_content = nfa.new()
        nfa.states[marker_content].marker = True
        nfa.states[marker_content].eps.append(content)
        cur = marker_content
        for (local, _ns), attr in reversed(attrs):
            s = nfa.new()
            nfa.states[s].marker = True
            dt = self.dts.of(attr.type)
            nfa.states[s].edges.append(((K_AT, local, dt, (0, 0)), cur))
            if attr.use != "required":
                nfa.states[s].eps.append(cur)
            cur = s
        return self.determinise(nfa, cur, frozenset(multi), simple, marker_content)

    def determinise(self, nfa: NFA, start: int, multi: frozenset[str], simple: int, content: int) -> tuple:
        start_set = nfa.closure([start])
        ids: dict[frozenset[int], int] = {start_set: 0}
        order = [start_set]
        table: list[tuple] = []
        # Element_i,content (the state where the attributes end) must exist: content2 copies it.
        content_set = nfa.closure([content])
        if content_set not in ids:
            ids[content_set] = len(order)
            order.append(content_set)
        i = 0
        while i < len(order):
            cur = order[i]
            i += 1
            moves: dict[tuple, set[int]] = {}
            accept = False
            marker = False
            for s in sorted(cur):
                st = nfa.states[s]
                accept = accept or st.accept
                marker = marker or st.marker
                for ev, tgt in st.edges:
                    key = ev[:2] if ev[0] != K_CH else (K_CH,)
                    if key in moves:
                        prev_ev, tgts = moves[key]
                        if prev_ev[2] != ev[2]:
                            raise SystemExit(f"ambiguous production {ev} vs {prev_ev}")
                        tgts.add(tgt)
                    else:
                        moves[key] = (ev, {tgt})
            prods = []
            for ev, tgts in moves.values():
                tset = nfa.closure(tgts)
                if tset not in ids:
                    ids[tset] = len(order)
                    order.append(tset)
                prods.append((ev, ids[tset]))
            if accept:
                prods.append(((K_EE, "", -1, (0, 0)), -1))

            def sort_key(p):
                ev = p[0]
                kind = ev[0]
                if kind == K_AT:
                    return (0, ev[1])
                if kind == K_SE:
                    return (1, ev[3])
                if kind == K_SE_ANY:
                    return (2, ev[3])
                if kind == K_EE:
                    return (3, 0)
                return (4, 0)

            prods.sort(key=sort_key)
            first = tuple((ev[0], ev[1], tgt, ev[2]) for ev, tgt in prods)
            has_ee = accept
            second: list[int] = []
            if not has_ee:
                second.append(U_EE)
            if marker:
                if len(table) == 0:
                    second.extend([U_XSI_TYPE, U_XSI_NIL])
                # AT(*) and the slot for declared attributes with invalid values (8.5.4.4.1); EXIficient
                # reserves the second even where no attribute is declared (CH [untyped] of an element
                # without attributes is its 7th second-level event), and so do we, to match its codes.
                second.extend([U_AT_ANY, U_AT_INVALID])
            second.extend([U_SE_ANY, U_CH_ANY])
            # Non-strict: the escape to the second level is always the last first-level code.
            # The last field: where an undeclared SE(*) or CH leads (content2 from a start tag, 8.5.4.4.1).
            undeclared_target = -2 if marker else len(table)
            table.append(
                (code_width(len(first) + 1), first, code_width(len(second)), tuple(second), undeclared_target)
            )
        # Element_i,content2: Element_i,content without its attribute productions, in content mode.
        base = table[ids[content_set]]
        first2 = tuple(p for p in base[1] if p[0] != K_AT)
        has_ee2 = any(p[0] == K_EE for p in first2)
        second2 = ([] if has_ee2 else [U_EE]) + [U_SE_ANY, U_CH_ANY]
        content2 = len(table)
        table.append(
            (code_width(len(first2) + 1), first2, code_width(len(second2)), tuple(second2), content2)
        )
        table = [st if st[4] != -2 else (*st[:4], content2) for st in table]
        return (tuple(table), tuple(sorted(multi)), simple)


def load_schema(schemas_dir: Path, rel: str) -> xmlschema.XMLSchema10:
    return xmlschema.XMLSchema10(str(schemas_dir / rel))


def generate_one(schemas_dir: Path, cli_name: str, module: str, rel: str) -> str:
    schema = load_schema(schemas_dir, rel)
    gen = Generator(schema)
    globals_ = [
        (split_qname(name), el)
        for name, el in schema.maps.elements.items()
        if split_qname(name)[1] not in (XSD_NS, XML_NS)
    ]
    globals_.sort(key=lambda g: g[0])
    doc = []
    for (local, ns), el in globals_:
        doc.append((local, ns, gen.element_grammar(el)))
    gen.run()
    # Relaxed element fragment grammar (8.5.3): every attribute qname of the schema, typed when all
    # its declarations agree on the type, untyped (a string) otherwise.
    for name, attr in schema.maps.attributes.items():
        if split_qname(name)[1] not in (XSD_NS, XML_NS, XSI_NS):
            gen.all_attrs.setdefault(name, set()).add(describe_simple_type(attr.type))
    frag_attrs = []
    for name in sorted(gen.all_attrs, key=split_qname):
        kinds = gen.all_attrs[name]
        dt = gen.dts.add(next(iter(kinds)) if len(kinds) == 1 else (DT_STR, 0, -1))
        frag_attrs.append((*split_qname(name), dt))
    untyped = gen.dts.add((DT_STR, 0, -1))
    attr_index = {(a[0], a[1]): i for i, a in enumerate(frag_attrs)}
    # Fragment grammar (8.5.2): every element declaration, global and local, by qname.  An element
    # declared with several types takes the relaxed grammar (-1); its attribute local names map to
    # their qnames in FRAGMENT_ATTRIBUTES (the dict form keys attributes by local name only).
    frag = []
    for name in sorted(gen.all_decls, key=split_qname):
        decls = gen.all_decls[name]
        gids = {gen.grammar_of_type[id(d.type)] for d in decls}
        local, ns = split_qname(name)
        attrs: dict[str, int] = {}
        for d in decls:
            if d.type.is_complex():
                for aname in d.type.attributes:
                    if aname is not None:
                        attrs.setdefault(split_qname(aname)[0], attr_index[split_qname(aname)])
        gid = gids.pop() if len(gids) == 1 else -1
        frag.append((local, ns, gid, tuple(sorted(attrs.items())) if gid < 0 else ()))
    # Elements kept in substitution groups although they (or their types) are abstract: valid EXI
    # events, but no instance may use them without xsi:type, so message generators skip them.
    abstract = sorted(
        {
            split_qname(d.name)[0]
            for decls in gen.all_decls.values()
            for d in decls
            if d.abstract or (d.type.is_complex() and d.type.abstract)
        }
    )
    target_ns = schema.target_namespace
    lines = [
        f'"""EXI grammar tables for {cli_name} ({target_ns}).',
        "",
        "Generated by tools/generate_v2g_grammars.py from the iso15118 0.31.2 wheel's XSDs; do not edit.",
        '"""',
        "",
        f"NAME = {cli_name!r}",
        f"NAMESPACE = {target_ns!r}",
        "# (local name, namespace, grammar id) of the global elements in document-grammar order (8.5.1)",
        "DOCUMENT = (",
    ]
    lines += [f"    {d!r}," for d in doc]
    lines += [")", "# every element declaration in fragment-grammar order (8.5.2); grammar -1: relaxed"]
    lines += ["FRAGMENT = ("]
    lines += [f"    {f!r}," for f in frag]
    lines += [")", "# attribute qnames of the relaxed element fragment grammar (8.5.3): (local, ns, dt)"]
    lines += ["FRAGMENT_ATTRIBUTES = ("]
    lines += [f"    {a!r}," for a in frag_attrs]
    lines += [")", f"UNTYPED = {untyped!r}"]
    lines += ["# elements that are abstract or of an abstract type (present as events, never in instances)"]
    lines += [f"ABSTRACT = {tuple(abstract)!r}"]
    lines += ["# (end of fragment tables)"]
    lines += ["DATATYPES = ("]
    lines += [f"    {d!r}," for d in gen.dts.table]
    lines += [
        ")",
        "# grammar: (states, names that are lists, simple-content datatype or -1)",
        "# state: (width, productions, width2, second level)",
        "GRAMMARS = (",
    ]
    for gid, g in enumerate(gen.grammars):
        states, multi, simple = g
        lines.append(f"    (  # {gid}")
        lines.append("        (")
        for st in states:
            lines.append(f"            {st!r},")
        lines.append("        ),")
        lines.append(f"        {multi!r},")
        lines.append(f"        {simple!r},")
        lines.append("    ),")
    lines.append(")")
    return "\n".join(lines) + "\n"


def find_schemas(source: Path, tmp: Path) -> Path:
    if source.is_dir():
        return source
    with zipfile.ZipFile(source) as zf:
        for info in zf.infolist():
            if info.filename.startswith("iso15118/shared/schemas/") and info.filename.endswith(".xsd"):
                zf.extract(info, tmp)
    return tmp / "iso15118" / "shared" / "schemas"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", type=Path, help="iso15118-0.31.2 wheel, or its iso15118/shared/schemas dir")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "harness" / "codec" / "v2g" / "grammars",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        schemas_dir = find_schemas(args.source, Path(tmp))
        for cli_name, (module, rel) in SCHEMAS.items():
            text = generate_one(schemas_dir, cli_name, module, rel)
            (args.out / f"{module}.py").write_text(text)
            print(f"wrote {module}.py ({len(text)} bytes)", file=sys.stderr)
    init = '"""Generated EXI grammar tables, one module per V2G schema (tools/generate_v2g_grammars.py)."""\n'
    (args.out / "__init__.py").write_text(init)
    return 0


if __name__ == "__main__":
    sys.exit(main())
