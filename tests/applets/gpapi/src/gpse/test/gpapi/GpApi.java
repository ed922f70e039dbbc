package gpse.test.gpapi;

import javacard.framework.AID;
import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import org.globalplatform.CVM;
import org.globalplatform.GPRegistryEntry;
import org.globalplatform.GPSystem;
import org.globalplatform.SecureChannel;

/**
 * org.globalplatform (GP Card API): the secure channel of the associated security domain and
 * GPSystem's card and application states.
 *
 *   80 50 / 84 82 → SecureChannel.processSecurity (INITIALIZE UPDATE, EXTERNAL AUTHENTICATE
 *              run by the SD); the response data it leaves at OFFSET_CDATA is sent.
 *   CLA 80/84 INS 10 [Lc data] → the command unwrapped (SecureChannel.unwrap), then response
 *              = plain data ‖ getSecurityLevel() (1 byte), wrapped (SecureChannel.wrap).
 *   80 20 → getCardState() ‖ getCardContentState() (2 bytes)
 *   80 21 P1 → setCardContentState(P1): 01/00 ‖ getCardContentState() (2 bytes)
 *   80 22 → lockCard(): 01/00
 *   80 23 → resetSecurity(), then getSecurityLevel() (1 byte)
 *   CLA 80/84 INS 30 / 31 Lc data → unwrap, then decryptData / encryptData of the plain data,
 *              the result wrapped (the static Key-DEK, AES-CBC, zero ICV).
 *   80 40 P1 → the global PIN (GPSystem.getCVM(CVM_GLOBAL_PIN); P1 != 11: getCVM(P1) == null
 *              answers 6A88): P2 selects the method, the result is 1 byte (booleans 01/00,
 *              the try counter, verify's CVM_SUCCESS 00 / CVM_FAILURE FF):
 *              P2 00 isActive, 01 isSubmitted, 02 isVerified, 03 isBlocked, 04 getTriesRemaining,
 *              05 update(data, format = data[0], value = data[1..]), 06 resetState, 07 blockState,
 *              08 resetAndUnblockState, 09 setTryLimit(data[0]),
 *              0A verify(data, format = data[0], value = data[1..]).
 *              Every answer ends with the state after it: isActive ‖ isSubmitted ‖ isVerified ‖
 *              isBlocked ‖ getTriesRemaining (5 bytes).
 *   80 41 P1 P2 [Lc data] → a registry entry (GPSystem.getRegistryEntry): P1 00 its own (null
 *              AID), P1 01 the one whose AID is the LV at the start of the data (null: 6A88).
 *              The rest of the data is the argument. P2: 00 getAID (the AID bytes),
 *              01 getPrivileges (3 bytes), 02 getState, 03 isAssociated(AID = the LV argument),
 *              04 isPrivileged(arg byte), 05 setState(arg byte), 06 registerService(0x0100)
 *              (1-byte answers, booleans 01/00).
 *   other INS: 6D00.
 */
public class GpApi extends Applet {
    public static void install(byte[] b, short off, byte len) {
        new GpApi().register(b, (short) (off + 1), b[off]);
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        SecureChannel sc = GPSystem.getSecureChannel();
        byte ins = buf[ISO7816.OFFSET_INS];
        switch (ins) {
            case (byte) 0x50:
            case (byte) 0x82: {
                short len = sc.processSecurity(apdu);
                if (len > 0) {
                    apdu.setOutgoingAndSend(ISO7816.OFFSET_CDATA, len);
                }
                return;
            }
            case (byte) 0x10: {
                short n = apdu.setIncomingAndReceive();
                short clen = sc.unwrap(buf, (short) 0, (short) (ISO7816.OFFSET_CDATA + n));
                short dlen = clen > ISO7816.OFFSET_CDATA ? (short) (clen - ISO7816.OFFSET_CDATA) : 0;
                buf[(short) (ISO7816.OFFSET_CDATA + dlen)] = sc.getSecurityLevel();
                short wl = sc.wrap(buf, ISO7816.OFFSET_CDATA, (short) (dlen + 1));
                apdu.setOutgoingAndSend(ISO7816.OFFSET_CDATA, wl);
                return;
            }
            case (byte) 0x30:
            case (byte) 0x31: {
                short n = apdu.setIncomingAndReceive();
                short clen = sc.unwrap(buf, (short) 0, (short) (ISO7816.OFFSET_CDATA + n));
                short dlen = clen > ISO7816.OFFSET_CDATA ? (short) (clen - ISO7816.OFFSET_CDATA) : 0;
                short r = ins == (byte) 0x30 ? sc.decryptData(buf, ISO7816.OFFSET_CDATA, dlen)
                        : sc.encryptData(buf, ISO7816.OFFSET_CDATA, dlen);
                short wl = sc.wrap(buf, ISO7816.OFFSET_CDATA, r);
                apdu.setOutgoingAndSend(ISO7816.OFFSET_CDATA, wl);
                return;
            }
            case (byte) 0x20:
                buf[0] = GPSystem.getCardState();
                buf[1] = GPSystem.getCardContentState();
                apdu.setOutgoingAndSend((short) 0, (short) 2);
                return;
            case (byte) 0x21:
                buf[0] = GPSystem.setCardContentState(buf[ISO7816.OFFSET_P1]) ? (byte) 1 : (byte) 0;
                buf[1] = GPSystem.getCardContentState();
                apdu.setOutgoingAndSend((short) 0, (short) 2);
                return;
            case (byte) 0x22:
                buf[0] = GPSystem.lockCard() ? (byte) 1 : (byte) 0;
                apdu.setOutgoingAndSend((short) 0, (short) 1);
                return;
            case (byte) 0x23:
                sc.resetSecurity();
                buf[0] = sc.getSecurityLevel();
                apdu.setOutgoingAndSend((short) 0, (short) 1);
                return;
            case (byte) 0x40:
                cvm(apdu, buf);
                return;
            case (byte) 0x41:
                registry(apdu, buf);
                return;
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }

    private static byte b(boolean v) {
        return v ? (byte) 1 : (byte) 0;
    }

    private void cvm(APDU apdu, byte[] buf) {
        CVM pin = GPSystem.getCVM(buf[ISO7816.OFFSET_P1]);
        if (pin == null) {
            ISOException.throwIt((short) 0x6A88);
        }
        short n = apdu.setIncomingAndReceive();
        short d = ISO7816.OFFSET_CDATA;
        byte r;
        switch (buf[ISO7816.OFFSET_P2]) {
            case 0: r = b(pin.isActive()); break;
            case 1: r = b(pin.isSubmitted()); break;
            case 2: r = b(pin.isVerified()); break;
            case 3: r = b(pin.isBlocked()); break;
            case 4: r = pin.getTriesRemaining(); break;
            case 5: r = b(pin.update(buf, (short) (d + 1), (byte) (n - 1), buf[d])); break;
            case 6: r = b(pin.resetState()); break;
            case 7: r = b(pin.blockState()); break;
            case 8: r = b(pin.resetAndUnblockState()); break;
            case 9: r = b(pin.setTryLimit(buf[d])); break;
            case 10: r = (byte) pin.verify(buf, (short) (d + 1), (byte) (n - 1), buf[d]); break;
            default: ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2); return;
        }
        buf[0] = r;
        buf[1] = b(pin.isActive());
        buf[2] = b(pin.isSubmitted());
        buf[3] = b(pin.isVerified());
        buf[4] = b(pin.isBlocked());
        buf[5] = pin.getTriesRemaining();
        apdu.setOutgoingAndSend((short) 0, (short) 6);
    }

    private void registry(APDU apdu, byte[] buf) {
        short n = apdu.setIncomingAndReceive();
        short d = ISO7816.OFFSET_CDATA;
        AID who = null;
        if (buf[ISO7816.OFFSET_P1] == 1) {
            who = new AID(buf, (short) (d + 1), buf[d]);
            n -= (short) (1 + buf[d]);
            d += (short) (1 + buf[d]);
        }
        GPRegistryEntry e = GPSystem.getRegistryEntry(who);
        if (e == null) {
            ISOException.throwIt((short) 0x6A88);
        }
        short len = 1;
        switch (buf[ISO7816.OFFSET_P2]) {
            case 0: len = e.getAID().getBytes(buf, (short) 0); break;
            case 1: len = e.getPrivileges(buf, (short) 0); break;
            case 2: buf[0] = e.getState(); break;
            case 3: buf[0] = b(e.isAssociated(new AID(buf, (short) (d + 1), buf[d]))); break;
            case 4: buf[0] = b(e.isPrivileged(buf[d])); break;
            case 5: buf[0] = b(e.setState(buf[d])); break;
            case 6: e.registerService((short) 0x0100); break;
            default: ISOException.throwIt(ISO7816.SW_INCORRECT_P1P2);
        }
        apdu.setOutgoingAndSend((short) 0, len);
    }
}
