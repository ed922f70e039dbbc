package gpse.test.objects;

/** An abstract class: a virtual method overridden, one inherited, one final. */
public abstract class Shape implements Measured {
    protected short size;

    Shape(short size) {
        this.size = size;
    }

    /** Overridden by each subclass. */
    public abstract short area();

    /** Inherited unchanged; calls the virtual area(). */
    public short twiceArea() {
        return (short) (2 * area());
    }

    public short measure() {
        return size;
    }

    /** Package-private virtual method (package method table). */
    short kind() {
        return 0;
    }
}
