package gpse.test.objects;

public class Rect extends Square {
    private short other;

    Rect(short a, short b) {
        super(a);
        other = b;
    }

    public short area() {
        return (short) (size * other);
    }

    /** super call: Square.area() via invokespecial superMethodRef. */
    public short squareArea() {
        return super.area();
    }

    public short measure() {
        return (short) (super.measure() + other);
    }

    short kind() {
        return 2;
    }
}
