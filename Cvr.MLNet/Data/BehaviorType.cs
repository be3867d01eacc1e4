namespace Cvr.MLNet.Data;

/// <summary>The Tianchi <c>behavior_type</c> codes.</summary>
public enum BehaviorType : byte
{
    /// <summary>1: browse / click.</summary>
    Click = 1,
    /// <summary>2: add to favorites.</summary>
    Favorite = 2,
    /// <summary>3: add to cart.</summary>
    Cart = 3,
    /// <summary>4: purchase.</summary>
    Buy = 4,
}
