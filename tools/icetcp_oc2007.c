/*
 * Two libnice agents in one process run ICE over TCP on the loopback interface in OC2007
 * compatibility mode (the MS-ICE draft 6 / MS-TURN v1 flavour Lync keeps for Office
 * Communicator 2007), then send RTP to each other over the chosen TCP pair. Built and run by
 * tools/record_icetcp.sh under tcpdump: the capture shows what libnice really sends (RFC 4571
 * length-prefixed frames carrying RFC 3489-style STUN without a magic cookie, then RTP).
 *
 *   icetcp_oc2007 [PACKETS] [COMPATIBILITY]   PACKETS of RTP each way (default 25);
 *                                             COMPATIBILITY a NiceCompatibility number
 *                                             (default NICE_COMPATIBILITY_OC2007)
 *
 * The agents use 127.0.15.1 and 127.0.15.2. Prints the credentials, every candidate with its
 * own username and password (MS-ICE draft 6 keeps them per candidate: base64, the password
 * decoded is the MESSAGE-INTEGRITY key), the selected pair and what each side received; exits
 * 0 when both
 * sides got every packet, 1 otherwise (or after a 20 s timeout).
 */
#include <agent.h>
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    NiceAgent *agent;
    guint stream;
    gboolean gathered;
    gboolean ready;
    guint received;
    guint16 seq;
    guint32 ssrc;
} Side;

static GMainLoop *loop;
static Side sides[2];
static guint packets = 25;
static guint sent = 0;
static int exit_code = 1;

static void exchange(Side *from, Side *to)
{
    gchar *ufrag = NULL, *pwd = NULL;
    nice_agent_get_local_credentials(from->agent, from->stream, &ufrag, &pwd);
    nice_agent_set_remote_credentials(to->agent, to->stream, ufrag, pwd);
    printf("%s ufrag %s pwd %s\n", from->name, ufrag, pwd);
    g_free(ufrag);
    g_free(pwd);
    GSList *cands = nice_agent_get_local_candidates(from->agent, from->stream, 1);
    for (GSList *i = cands; i; i = i->next) {
        NiceCandidate *c = i->data;
        gchar ip[NICE_ADDRESS_STRING_LEN];
        nice_address_to_string(&c->addr, ip);
        printf("%s candidate %s:%u transport %d type %d username %s password %s\n", from->name,
               ip, nice_address_get_port(&c->addr), c->transport, c->type,
               c->username ? c->username : "-", c->password ? c->password : "-");
    }
    nice_agent_set_remote_candidates(to->agent, to->stream, 1, cands);
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
}

static void on_gathering_done(NiceAgent *agent, guint stream_id, gpointer data)
{
    Side *side = data;
    side->gathered = TRUE;
    if (sides[0].gathered && sides[1].gathered) {
        exchange(&sides[0], &sides[1]);
        exchange(&sides[1], &sides[0]);
    }
}

static void send_rtp(Side *side)
{
    guint8 buf[172];
    memset(buf, 0xD5, sizeof buf); /* PCMU silence */
    buf[0] = 0x80;
    buf[1] = 0x00;
    buf[2] = side->seq >> 8;
    buf[3] = side->seq & 0xFF;
    guint32 ts = (guint32)side->seq * 160u;
    buf[4] = ts >> 24;
    buf[5] = (ts >> 16) & 0xFF;
    buf[6] = (ts >> 8) & 0xFF;
    buf[7] = ts & 0xFF;
    buf[8] = side->ssrc >> 24;
    buf[9] = (side->ssrc >> 16) & 0xFF;
    buf[10] = (side->ssrc >> 8) & 0xFF;
    buf[11] = side->ssrc & 0xFF;
    side->seq++;
    nice_agent_send(side->agent, side->stream, 1, sizeof buf, (const gchar *)buf);
}

static gboolean tick(gpointer unused)
{
    if (sent >= packets)
        return G_SOURCE_REMOVE;
    send_rtp(&sides[0]);
    send_rtp(&sides[1]);
    sent++;
    return G_SOURCE_CONTINUE;
}

static gboolean start_sending(gpointer unused)
{
    g_timeout_add(20, tick, NULL);
    return G_SOURCE_REMOVE;
}

static gboolean finish(gpointer unused)
{
    printf("received %s %u, %s %u\n", sides[0].name, sides[0].received, sides[1].name,
           sides[1].received);
    exit_code = (sides[0].received == packets && sides[1].received == packets) ? 0 : 1;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static void on_state_changed(NiceAgent *agent, guint stream_id, guint component_id,
                             guint state, gpointer data)
{
    Side *side = data;
    if (state != NICE_COMPONENT_STATE_READY || side->ready)
        return;
    side->ready = TRUE;
    NiceCandidate *local = NULL, *remote = NULL;
    if (nice_agent_get_selected_pair(agent, stream_id, component_id, &local, &remote)) {
        gchar a[NICE_ADDRESS_STRING_LEN], b[NICE_ADDRESS_STRING_LEN];
        nice_address_to_string(&local->addr, a);
        nice_address_to_string(&remote->addr, b);
        printf("%s ready: %s:%u -> %s:%u\n", side->name, a, nice_address_get_port(&local->addr),
               b, nice_address_get_port(&remote->addr));
    }
    if (sides[0].ready && sides[1].ready) {
        /* let the last checks and their answers reach the wire first, then 20 ms packets */
        g_source_remove_by_user_data(&exit_code);
        g_timeout_add(300, start_sending, NULL);
        g_timeout_add(300 + 20 * (packets + 25), finish, NULL);
    }
}

static void on_recv(NiceAgent *agent, guint stream_id, guint component_id, guint len,
                    gchar *buf, gpointer data)
{
    Side *side = data;
    if (len >= 12 && ((guint8)buf[0] & 0xC0) == 0x80)
        side->received++;
}

static gboolean timeout(gpointer unused)
{
    fprintf(stderr, "timeout: ICE did not complete\n");
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static void setup(Side *side, const char *name, const char *ip, gboolean controlling,
                  NiceCompatibility compat, guint32 ssrc)
{
    side->name = name;
    side->ssrc = ssrc;
    side->seq = 1000;
    side->agent = nice_agent_new(g_main_loop_get_context(loop), compat);
    g_object_set(side->agent, "ice-tcp", TRUE, "ice-udp", FALSE, "upnp", FALSE,
                 "controlling-mode", controlling, NULL);
    NiceAddress addr;
    nice_address_init(&addr);
    nice_address_set_from_string(&addr, ip);
    nice_agent_add_local_address(side->agent, &addr);
    g_signal_connect(side->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), side);
    g_signal_connect(side->agent, "component-state-changed", G_CALLBACK(on_state_changed), side);
    side->stream = nice_agent_add_stream(side->agent, 1);
    nice_agent_attach_recv(side->agent, side->stream, 1, g_main_loop_get_context(loop), on_recv,
                           side);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        packets = (guint)atoi(argv[1]);
    NiceCompatibility compat = NICE_COMPATIBILITY_OC2007;
    if (argc > 2)
        compat = (NiceCompatibility)atoi(argv[2]);
    loop = g_main_loop_new(NULL, FALSE);
    /* two loopback addresses of their own, so the recording filter sees nothing else */
    setup(&sides[0], "left", "127.0.15.1", TRUE, compat, 0x0C2007A1);
    setup(&sides[1], "right", "127.0.15.2", FALSE, compat, 0x0C2007B2);
    nice_agent_gather_candidates(sides[0].agent, sides[0].stream);
    nice_agent_gather_candidates(sides[1].agent, sides[1].stream);
    g_timeout_add_seconds(20, timeout, &exit_code);
    g_main_loop_run(loop);
    g_object_unref(sides[0].agent);
    g_object_unref(sides[1].agent);
    g_main_loop_unref(loop);
    return exit_code;
}
