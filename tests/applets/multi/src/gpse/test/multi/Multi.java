package gpse.test.multi;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.MultiSelectable;

/**
 * Multi: a MultiSelectable applet (JCRE §4.2), to see which selection methods the JCRE calls
 * and when its CLEAR_ON_DESELECT array is cleared.
 *
 * `how` records the last selection: 1 = Applet.select(), 2 = MultiSelectable.select(false),
 * 3 = MultiSelectable.select(true); `gone` the last deselection: 1 = Applet.deselect(),
 * 2 = MultiSelectable.deselect(false), 3 = MultiSelectable.deselect(true).
 *
 * CLA 80 (on any channel), INS P1 → response:
 *   40 -- → getAssignedChannel(), how, gone, cod[0] (4 bytes)
 *   41 P1 → cod[0] = P1 (cod: a CLEAR_ON_DESELECT byte[1])
 *   other INS: 6D00.
 */
public class Multi extends Applet implements MultiSelectable {
    private byte how;
    private byte gone;
    private final byte[] cod;

    private Multi() {
        cod = JCSystem.makeTransientByteArray((short) 1, JCSystem.CLEAR_ON_DESELECT);
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new Multi();
    }

    public boolean select() {
        how = 1;
        return true;
    }

    public void deselect() {
        gone = 1;
    }

    public boolean select(boolean appInstAlreadyActive) {
        how = appInstAlreadyActive ? (byte) 3 : (byte) 2;
        return true;
    }

    public void deselect(boolean appInstStillActive) {
        gone = appInstStillActive ? (byte) 3 : (byte) 2;
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x40:
                buf[0] = JCSystem.getAssignedChannel();
                buf[1] = how;
                buf[2] = gone;
                buf[3] = cod[0];
                apdu.setOutgoingAndSend((short) 0, (short) 4);
                break;
            case 0x41:
                cod[0] = buf[ISO7816.OFFSET_P1];
                break;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }
}
