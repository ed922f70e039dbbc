package gpse.test.lib;

import javacard.framework.Shareable;

/**
 * The service `fwserver` offers `fwclient` across the firewall (JCRE §6.2.4): a Shareable
 * interface, declared in a library package that both import.
 */
public interface Counter extends Shareable {
    /** Adds `delta` to the server's total and returns the new total. */
    short add(short delta);

    /**
     * Writes the AID of the caller's context (`JCSystem.getPreviousContextAID`) into `buf` at
     * `off` (the client passes its APDU buffer: a global array, usable from both contexts) and
     * returns its length (0 if none).
     */
    short whoCalled(byte[] buf, short off);

    /**
     * The server's own persistent array: the reference crosses the firewall (a return value),
     * but using it from another context raises SecurityException (JCRE §6.2.8.2).
     */
    byte[] leak();
}
