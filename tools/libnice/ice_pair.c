/*
 * Two libnice agents in one process run ICE with each other over loopback, in libnice's
 * MS-ICE2 mode (NICE_COMPATIBILITY_OC2007R2, what Lync 2010+ speaks), then the controlling
 * agent sends ten RTP-like packets on the nominated pair. tools/libnice/record.sh records it.
 *
 * Build: cc -o ice_pair ice_pair.c $(pkg-config --cflags --libs nice)   (libnice-dev)
 */
#include <agent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GMainLoop *loop;
static int ready;

static void
on_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer who)
{
    (void)agent, (void)stream, (void)component, (void)who;
    if (state == NICE_COMPONENT_STATE_READY && ++ready == 2)
        g_main_loop_quit(loop);
}

static void
on_recv(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer data)
{
    (void)agent, (void)stream, (void)component, (void)len, (void)buf, (void)data;
}

static gboolean
give_up(gpointer data)
{
    (void)data;
    g_main_loop_quit(loop);
    return FALSE;
}

int
main(int argc, char **argv)
{
    NiceCompatibility mode = argc > 1 ? (NiceCompatibility)atoi(argv[1]) : NICE_COMPATIBILITY_OC2007R2;
    NiceAgent *agents[2];
    guint streams[2];
    loop = g_main_loop_new(NULL, FALSE);
    GMainContext *ctx = g_main_loop_get_context(loop);
    for (int i = 0; i < 2; i++) {
        NiceAddress addr;
        agents[i] = nice_agent_new(ctx, mode);
        g_object_set(agents[i], "controlling-mode", i == 0, "upnp", FALSE, NULL);
        nice_address_init(&addr);
        nice_address_set_from_string(&addr, "127.0.0.1");
        nice_agent_add_local_address(agents[i], &addr);
        g_signal_connect(agents[i], "component-state-changed", G_CALLBACK(on_state), NULL);
        streams[i] = nice_agent_add_stream(agents[i], 1);
        nice_agent_set_port_range(agents[i], streams[i], 1, 41000 + 10 * i, 41009 + 10 * i);
        nice_agent_attach_recv(agents[i], streams[i], 1, ctx, on_recv, NULL);
        nice_agent_gather_candidates(agents[i], streams[i]);
    }
    for (int k = 0; k < 50; k++)
        g_main_context_iteration(ctx, FALSE);
    /* The signalling (SDP) is these few calls: each agent learns the other's credentials. */
    for (int i = 0; i < 2; i++) {
        gchar *ufrag = NULL, *pwd = NULL;
        nice_agent_get_local_credentials(agents[i], streams[i], &ufrag, &pwd);
        nice_agent_set_remote_credentials(agents[1 - i], streams[1 - i], ufrag, pwd);
        GSList *cands = nice_agent_get_local_candidates(agents[i], streams[i], 1);
        nice_agent_set_remote_candidates(agents[1 - i], streams[1 - i], 1, cands);
        g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
        printf("agent %d ufrag %s\n", i, ufrag);
        g_free(ufrag);
        g_free(pwd);
    }
    g_timeout_add(5000, give_up, NULL);
    g_main_loop_run(loop);
    for (int k = 0; k < 10; k++) {
        unsigned char rtp[172];
        memset(rtp, 0xd5, sizeof rtp);
        memcpy(rtp, "\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x12\x34", 12);
        rtp[3] = (unsigned char)k;
        rtp[6] = (unsigned char)((160 * k) >> 8);
        rtp[7] = (unsigned char)(160 * k);
        nice_agent_send(agents[0], streams[0], 1, sizeof rtp, (const gchar *)rtp);
        g_usleep(20000);
        for (int m = 0; m < 5; m++)
            g_main_context_iteration(ctx, FALSE);
    }
    return ready == 2 ? 0 : 1;
}
