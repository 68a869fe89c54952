"""Manifests the end-to-end tests apply (agent ids match the seed in conftest.py)."""

FULL = """\
version: 1
workspace: {prune: false, max_deletes: 0}
pre_call_webhook:
  url: https://crm.example.com/elevenlabs/pre-call
  headers: {Authorization: "Bearer ${CRM_WEBHOOK_TOKEN}", X-Source: elevenlabs}
agents:
  support:
    id: agent_3701k3ttaq12ewp8b7qv5rfyszkz
    pre_call_webhook: true
    dynamic_variables: {customer_name: there, account_status: standard}
    overrides: [first_message, language]
    transfers:
      - to: "+14155550199"
        condition: The caller asks for a human
        wait_message: Please hold while I connect you to a specialist.
        handoff_message: "Customer needs help with order {{order_id}}."
      - to: "sip:queue@pbx.example.com"
        type: sip_refer
        condition: The caller asks for billing
        sip_headers: {X-Queue: billing, X-Caller: "{{system__caller_id}}"}
  sales:
    id: agent_4801k3ttaq12ewp8b7qv5rfysabc
    dynamic_variables: {region: west}
sip_trunks:
  main-pbx:
    static_ip: true
    outbound:
      address: pbx.example.com
      transport: tls
      media_encryption: required
      headers: {X-Org: acme}
      codecs: [PCMU/8000, PCMA/8000]
      credentials: {username: elevenlabs, password: "${PBX_SIP_PASSWORD}"}
    inbound:
      allowed_addresses: [203.0.113.0/24, 198.51.100.7]
      media_encryption: required
      credentials: {username: pbx, password: "${PBX_INBOUND_PASSWORD}"}
      remote_domains: [pbx.example.com]
phone_numbers:
  support-line:
    number: "+14155550100"
    label: Customer Support Line
    provider: twilio
    twilio: {account_sid: "${TWILIO_ACCOUNT_SID}", auth_token: "${TWILIO_AUTH_TOKEN}"}
    agent: support
  sales-pbx:
    number: "+14155550101"
    label: Sales via PBX
    provider: sip_trunk
    sip_trunk: main-pbx
    agent: support
  sales-direct:
    number: "+14155550102"
    label: Sales direct
    provider: sip_trunk
    sip_trunk: main-pbx
    agent: sales
"""


def numbers_manifest(count: int, *, prune: bool = False, max_deletes: int = 0) -> str:
    """`count` SIP-trunk numbers alternating between the two seeded agents."""
    lines = [
        "version: 1",
        f"workspace: {{prune: {str(prune).lower()}, max_deletes: {max_deletes}}}",
        "agents:",
        "  support: {id: agent_3701k3ttaq12ewp8b7qv5rfyszkz}",
        "  sales: {id: agent_4801k3ttaq12ewp8b7qv5rfysabc}",
        "sip_trunks:",
        "  pbx: {outbound: {address: pbx.example.com, transport: tcp}}",
        "phone_numbers:",
    ]
    for i in range(count):
        agent = "support" if i % 2 == 0 else "sales"
        lines.append(
            f"  n{i:04d}: {{number: '+1415600{i:04d}', label: 'Line {i}', provider: sip_trunk, "
            f"sip_trunk: pbx, agent: {agent}}}"
        )
    return "\n".join(lines) + "\n"
