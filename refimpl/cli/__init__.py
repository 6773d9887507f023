"""The command-line tools behind ``python -m refimpl COMMAND``.

    dhcp  dhcp-server, dhcp-client, dhcp-relay on a real interface
    ftp   ftp-server
    tftp  tftp-server, tftp-get, tftp-put
    dns   dns-server, dns-query
    diagram  diagram: a sequence diagram as Mermaid, PlantUML, mscgen, SVG or PDF, for slides
    args  the argument types they share (ports, addresses, pools, numbers, files), each with a clear error

Each module exposes ``main(argv) -> int`` and imports its driver only when run.
"""
