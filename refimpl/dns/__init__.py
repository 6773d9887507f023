"""DNS (RFC 1035): a sans-I/O core, standard library only.

errors    MessageError: which field, which byte, why
names     names on the wire: labels, limits, compression pointers
records   the record-type registry driving RDATA decode and encode
message   the header table, questions, records, EDNS(0); decode and encode
zone      a zone from an RFC 1035 §5 master file
server    an authoritative answer core for one zone
resolver  a stub resolver core: UDP, retry, TCP when truncated
update    dynamic update (RFC 2136): prerequisites, additions, deletions, all or nothing
tsig      transaction signatures (RFC 8945, HMAC-SHA256): sign, verify, the §5.2 errors
updater   a small UPDATE client core: the RFC 2136 §2.4/§2.5 record forms, signed
"""

from .errors import MessageError
from .message import Edns, Message, Opcode, Question, Rcode, Record, decode
from .records import Class, Type

__all__ = ["Class", "Edns", "Message", "MessageError", "Opcode", "Question", "Rcode", "Record", "Type", "decode"]
