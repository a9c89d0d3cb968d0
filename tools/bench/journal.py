#!/usr/bin/env python3
"""Writes a minhbach log (`minhbach log --json` lines on stdin) as an hledger journal on stdout, so that the
same transactions can be queried with `hledger balance` and `hledger register` (tools/bench/compare.sh).

Cash donations, disbursements, expenses and allocations become two-posting transactions between
assets:<fund>:<sub-account> and income:donors:<donor> / expenses:children:<child> / expenses:<category>;
reversals post the reversed transaction's amounts negated. Other events carry no money and are skipped."""
import json
import sys


def sub(restriction, target):
    return {"programme": "p-" + target, "child": "c-" + target}.get(restriction or "unrestricted", "u")


def main():
    txns = {}
    out = sys.stdout
    for line in sys.stdin:
        e = json.loads(line).get("entry")
        if not e:
            continue
        seq, t, d, date = e["seq"], e["type"], e["data"], e["recorded_at"][:10]
        postings = []
        if t == "donation_received" and "cash" in d:
            acct = f"assets:{d['fund']}:{sub(d.get('restriction'), d.get('restricted_to', ''))}"
            postings = [(acct, d["cash"]["amount"]), (f"income:donors:{d['donor']}", -d["cash"]["amount"])]
            date = d["value_date"]
        elif t == "disbursement" and d.get("amount", 0) > 0:
            paid = d.get("paid_from", "unrestricted")
            target = d.get("programme", "") if paid == "programme" else d["child"]
            postings = [(f"expenses:children:{d['child']}", d["amount"]),
                        (f"assets:{d['fund']}:{sub(paid, target)}", -d["amount"])]
        elif t == "expense":
            paid = d.get("paid_from", "unrestricted")
            postings = [(f"expenses:{d['category']}", d["amount"]),
                        (f"assets:{d['fund']}:{sub(paid, d.get('programme', ''))}", -d["amount"])]
        elif t == "allocation":
            s = sub(d.get("restriction"), d.get("restricted_to", ""))
            postings = [(f"assets:{d['to_fund']}:{s}", d["amount"]), (f"assets:{d['from_fund']}:{s}", -d["amount"])]
        elif t == "reversal" and d["seq"] in txns:
            postings = [(a, -v) for a, v in txns[d["seq"]]]
        if not postings:
            continue
        txns[seq] = postings
        out.write(f"{date} #{seq} {t}\n")
        for a, v in postings:
            out.write(f"    {a}  {v} VND\n")
        out.write("\n")


if __name__ == "__main__":
    main()
