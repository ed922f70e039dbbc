package gpse.test.fwserver;

import gpse.test.lib.Counter;
import javacard.framework.AID;
import javacard.framework.JCSystem;

/** The Shareable object: its methods run in the server's context when the client calls them. */
class CounterImpl implements Counter {
    private short total;

    short total() {
        return total;
    }

    public short add(short delta) {
        total += delta;
        return total;
    }

    public short whoCalled(byte[] buf, short off) {
        AID caller = JCSystem.getPreviousContextAID();
        return caller == null ? 0 : caller.getBytes(buf, off);
    }

    public byte[] leak() {
        return Server.secret;
    }
}
