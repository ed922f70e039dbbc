package gpse.test.lib;

/**
 * A library package (no applet, no firewall context of its own; JCRE §6.1.1): its code runs in
 * the caller's context.
 */
public class LibMath {
    private LibMath() {
    }

    /** The sum of `len` bytes of `b` from `off`, as unsigned values. */
    public static short sum(byte[] b, short off, short len) {
        short s = 0;
        for (short i = 0; i < len; i++) {
            s += (short) (b[(short) (off + i)] & 0xFF);
        }
        return s;
    }
}
